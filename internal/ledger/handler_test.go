package ledger

import "testing"

func TestResource(t *testing.T) {
	for _, tc := range []struct {
		path  string
		cache string // empty: not a tlog-tiles path
	}{
		{"checkpoint", checkpointCache},
		{"tile/0/000", fullTileCache},
		{"tile/63/000", fullTileCache},
		{"tile/1/x001/x234/067", fullTileCache},
		{"tile/0/x001/234.p/255", partialTileCache},
		{"tile/entries/000.p/1", partialTileCache},
		{"tile/entries/x999/999", fullTileCache},
		{"tile/64/000", ""},
		{"tile/00/000", ""},
		{"tile/-1/000", ""},
		{"tile/0/00", ""},
		{"tile/0/0000", ""},
		{"tile/0/001234", ""},
		{"tile/0/x000/001", ""},
		{"tile/0/x001", ""},
		{"tile/0/001/x234", ""},
		{"tile/0/000.p/0", ""},
		{"tile/0/000.p/256", ""},
		{"tile/0/000.p/01", ""},
		{"tile/0/000.p", ""},
		{"tile/entries/000.p", ""},
		{"tile/entries/000.p/", ""},
		{"tile/data/000", ""},
		{"tile/8/0/000", ""},
		{"tile/0/x018/x446/x744/x073/x709/x551/616", ""}, // overflows uint64
		{"tile/0/x018/x446/x744/x073/x709/x551/615", fullTileCache},
		{"tile/../.state/treeState", ""},
		{".state/treeState", ""},
		{"checkpoint123456", ""},
		{"tile/0/000123456", ""},
		{"", ""},
	} {
		cache, ok := resource(tc.path)
		if ok != (tc.cache != "") || cache != tc.cache {
			t.Errorf("resource(%q) = %q, %v; want %q", tc.path, cache, ok, tc.cache)
		}
	}
}

package syncfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReplace(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "state")
	for _, want := range []string{"first", "second, longer than the first"} {
		if err := Replace(name, []byte(want), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil || string(got) != want {
			t.Fatalf("after Replace(%q): %q, %v", want, got, err)
		}
	}
	if fi, _ := os.Stat(name); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	// A crash between the temporary file and the rename leaves the old
	// contents and a temporary file, which RemoveTemps removes.
	os.WriteFile(filepath.Join(dir, TempPrefix+"state-123"), []byte("half"), 0o600)
	if err := RemoveTemps(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "state" {
		t.Errorf("after RemoveTemps: %v, want only state", entries)
	}
	if err := Replace(filepath.Join(dir, "absent", "x"), nil, 0o600); err == nil {
		t.Error("Replace in a folder that does not exist succeeded")
	}
}

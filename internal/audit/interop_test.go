package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/truce-mechanism/truce"
)

// These tests read a truce log with code that knows nothing of truce:
// golang.org/x/mod/sumdb/tlog and note, and Tessera's fsck. The ledger's
// TestHandler does the first for a bare ledger; here it is a whole
// mechanism's server, its checkpoints over time, and a follower's mirror.

// tileStore reads C2SP tlog-tiles, over HTTP or from a folder, for
// tlog.TileHashReader.
type tileStore struct {
	t   *testing.T
	get func(path string) ([]byte, error)
}

func httpStore(t *testing.T, base string) *tileStore {
	return &tileStore{t: t, get: func(p string) ([]byte, error) {
		resp, err := http.Get(base + "/" + p)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", p, resp.Status)
		}
		return io.ReadAll(resp.Body)
	}}
}

func dirStore(t *testing.T, dir string) *tileStore {
	return &tileStore{t: t, get: func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))) }}
}

func (s *tileStore) Height() int { return 8 }

func (s *tileStore) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		data, err := s.get(c2spTilePath(strconv.Itoa(tile.L), tile.N, int64(tile.W)))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (s *tileStore) SaveTiles([]tlog.Tile, [][]byte) {}

// verify checks a C2SP log the plain way: the checkpoint's signature with
// note, every record hash against its root with tlog, and every entry
// against its record hash. It returns the tree and the entries.
func (s *tileStore) verify(v note.Verifier) (tlog.Tree, [][]byte) {
	t := s.t
	t.Helper()
	raw, err := s.get("checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint %q: %v", raw, err)
	}
	tree := plainTree(t, n.Text)
	indexes := make([]int64, tree.N)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, int64(i))
	}
	hashes, err := tlog.TileHashReader(tree, s).ReadHashes(indexes)
	if err != nil {
		t.Fatalf("record hashes of the tree of size %d: %v", tree.N, err)
	}
	var entries [][]byte
	for b := int64(0); b*256 < tree.N; b++ {
		data, err := s.get(c2spTilePath("entries", b, min(256, tree.N-b*256)))
		if err != nil {
			t.Fatal(err)
		}
		for len(data) > 0 {
			l := int(data[0])<<8 | int(data[1])
			entries = append(entries, data[2:2+l])
			data = data[2+l:]
		}
	}
	if int64(len(entries)) != tree.N {
		t.Fatalf("%d entries in the bundles, want %d", len(entries), tree.N)
	}
	for i, e := range entries {
		if tlog.RecordHash(e) != hashes[i] {
			t.Fatalf("entry %d does not hash to the tree's record hash", i)
		}
	}
	return tree, entries
}

// plainTree reads a checkpoint's size and root as tlog reads a go.sum
// tree note, whose last two lines are the same.
// SPEC: https://c2sp.org/tlog-checkpoint
func plainTree(t *testing.T, text string) tlog.Tree {
	t.Helper()
	lines := strings.SplitN(text, "\n", 2)
	if lines[0] != testOrigin {
		t.Fatalf("checkpoint origin %q, want %q", lines[0], testOrigin)
	}
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + lines[1]))
	if err != nil {
		t.Fatalf("checkpoint %q: %v", text, err)
	}
	return tree
}

func TestInteropPlainTlog(t *testing.T) {
	f := newFixture(t)
	f.post(f.envelope("", "tr-1", truce.TypeCharter, charter("72h"), charterSigners...))
	f.post(f.envelope("inc-1", "af-1", truce.TypeIncident, incident("PK", "AF")))
	f.settle()
	v, err := note.NewVerifier(f.info.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	server := httpStore(t, f.ts.URL+"/log")
	old, _ := server.verify(v)

	// Enough entries for full tiles, a partial tile above them, and a
	// follower's mirror of it all.
	dir := t.TempDir()
	fl := f.follow(t, f.ts.URL, dir, nil)
	postMany(t, f, 600)
	size := f.settle()
	fl.waitSize(size)
	fl.clean()
	tree, entries := server.verify(v)
	if tree.N != int64(size) {
		t.Fatalf("tree of size %d, want %d", tree.N, size)
	}
	// The later tree is consistent with the earlier, by tlog's proof.
	proof, err := tlog.ProveTree(tree.N, old.N, tlog.TileHashReader(tree, server))
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(proof, tree.N, tree.Hash, old.N, old.Hash); err != nil {
		t.Fatalf("the tree of size %d is not consistent with that of size %d: %v", tree.N, old.N, err)
	}
	// Every entry is a truce entry, as the wire format says.
	for i, e := range entries {
		if _, err := truce.ParseEntry(e); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	// The mirror is the same log, read from disk.
	mtree, mentries := dirStore(t, dir).verify(v)
	if mtree != tree || len(mentries) != len(entries) {
		t.Fatalf("the mirror has the tree %v, the server %v", mtree, tree)
	}
}

// postMany posts n votes in batches.
func postMany(t testing.TB, f *fixture, n int) {
	for sent := 0; sent < n; {
		var envs [][]byte
		for i := 0; i < 100 && sent < n; i, sent = i+1, sent+1 {
			b, _ := f.envelope("", []string{"tr-1", "qa-1"}[sent%2], truce.TypeAssessment, vote("inc-1", "occurred", []string{"yes", "no"}[sent/2%2], "")).MarshalJSON()
			envs = append(envs, b)
		}
		body := append([]byte(`{"envelopes":[`), bytes.Join(envs, []byte(","))...)
		body = append(body, "]}"...)
		resp, err := http.Post(f.ts.URL+"/v1/statements", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST a batch: %s", resp.Status)
		}
	}
}

// TestInteropTesseraFsck builds Tessera's fsck, an off-the-shelf C2SP
// tlog-tiles checker, and runs it against a truce server's log and
// against a follower's mirror of it.
func TestInteropTesseraFsck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Tessera's fsck")
	}
	bin := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Outside this module, so that fsck's own requirements (a TUI among
	// them) stay out of truce's go.mod.
	build := exec.CommandContext(ctx, "go", "install", "github.com/transparency-dev/tessera/cmd/fsck@v1.0.4")
	build.Dir = bin
	build.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build Tessera's fsck here (it needs the Go module proxy): %v\n%s", err, out)
	}
	fsck := filepath.Join(bin, "fsck")

	f := newFixture(t)
	f.post(f.envelope("", "tr-1", truce.TypeCharter, charter("72h"), charterSigners...))
	f.post(f.envelope("inc-1", "af-1", truce.TypeIncident, incident("PK", "AF")))
	dir := t.TempDir()
	fl := f.follow(t, f.ts.URL, dir, nil)
	postMany(t, f, 600)
	size := f.settle()
	fl.waitSize(size)
	fl.clean()

	key := filepath.Join(t.TempDir(), "log.pub")
	if err := os.WriteFile(key, []byte(f.info.LogKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, storage := range []string{f.ts.URL + "/log/", "file://" + dir + "/"} {
		run := func(key string) ([]byte, error) {
			cmd := exec.CommandContext(ctx, fsck, "--storage_url="+storage, "--public_key="+key, "--ui=false", "--N=2")
			return cmd.CombinedOutput()
		}
		// fsck says it failed on standard error, but exits 0.
		out, err := run(key)
		if err != nil || !bytes.Contains(out, []byte(fmt.Sprintf("Successfully fsck'd log with size %d", size))) {
			t.Fatalf("fsck of %s: %v\n%s", storage, err, out)
		}
		t.Logf("fsck --storage_url=%s, a tree of %d entries:\n%s", storage, size, out)

		// And fsck fails with another key of the same name.
		_, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
		if err == nil {
			other := filepath.Join(t.TempDir(), "other.pub")
			os.WriteFile(other, []byte(vkey+"\n"), 0o644)
			if out, err := run(other); err == nil && !bytes.Contains(out, []byte("fsck failed")) {
				t.Errorf("fsck of %s passed with another log key:\n%s", storage, out)
			}
		}
	}
}

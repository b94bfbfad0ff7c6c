package ledger_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truce-mechanism/truce/internal/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const origin = "truce.example/ledger-test"

// newKey returns a fresh log signer and its verifier.
func newKey(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// open opens the log in dir with test timings, and closes it at the end of
// the test unless the test closed it first.
func open(t testing.TB, dir string, s note.Signer) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(t.Context(), ledger.Config{
		Dir:                dir,
		Signer:             s,
		BatchMaxAge:        5 * time.Millisecond,
		CheckpointInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return l
}

// entry returns distinct test entries of varied lengths, one of them the
// largest allowed.
func entry(i int) []byte {
	if i == 7 {
		return bytes.Repeat([]byte{'m'}, ledger.MaxEntrySize)
	}
	return fmt.Appendf(nil, "entry %d %s", i, strings.Repeat("x", i%300))
}

// addAll adds n entries from workers goroutines, starting at entry(first),
// and returns the entries by the index each Add returned.
func addAll(t *testing.T, l *ledger.Ledger, first, n, workers int) map[uint64][]byte {
	t.Helper()
	var (
		mu  sync.Mutex
		got = make(map[uint64][]byte)
		wg  sync.WaitGroup
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				e := entry(i)
				idx, err := l.Add(t.Context(), e)
				if err != nil {
					t.Error(err)
					continue
				}
				mu.Lock()
				if prev, ok := got[idx]; ok {
					t.Errorf("index %d returned for %.20q and %.20q", idx, prev, e)
				}
				got[idx] = e
				mu.Unlock()
			}
		})
	}
	for i := first; i < first+n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return got
}

// checkEntries checks that the log holds exactly want, index by index.
func checkEntries(t *testing.T, l *ledger.Ledger, want map[uint64][]byte) {
	t.Helper()
	size, err := l.Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if size != uint64(len(want)) {
		t.Fatalf("Size() = %d, want %d", size, len(want))
	}
	got, err := l.Entries(t.Context(), 0, size)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Entries(0, %d) returned %d entries, want %d", size, len(got), len(want))
	}
	for i, e := range got {
		w, ok := want[uint64(i)]
		if !ok {
			t.Fatalf("no Add returned index %d", i)
		}
		if !bytes.Equal(e, w) {
			t.Fatalf("entry %d = %.40q, want %.40q", i, e, w)
		}
	}
}

func TestAddConcurrentAndReopen(t *testing.T) {
	const n, workers = 3000, 50
	dir := t.TempDir()
	s, _ := newKey(t)

	l := open(t, dir, s)
	want := addAll(t, l, 0, n, workers)
	checkEntries(t, l, want)

	// Ranges within and across bundles, partial ones included.
	for _, r := range [][2]uint64{{0, 0}, {5, 6}, {250, 260}, {256, 512}, {1000, 2999}, {2990, n}, {n, n}} {
		got, err := l.Entries(t.Context(), r[0], r[1])
		if err != nil {
			t.Fatalf("Entries(%d, %d): %v", r[0], r[1], err)
		}
		if len(got) != int(r[1]-r[0]) {
			t.Fatalf("Entries(%d, %d) returned %d entries, want %d", r[0], r[1], len(got), r[1]-r[0])
		}
		for i, e := range got {
			if w := want[r[0]+uint64(i)]; !bytes.Equal(e, w) {
				t.Fatalf("Entries(%d, %d)[%d] = %.40q, want %.40q", r[0], r[1], i, e, w)
			}
		}
	}
	for _, r := range [][2]uint64{{0, n + 1}, {n + 1, n + 2}, {10, 5}} {
		if _, err := l.Entries(t.Context(), r[0], r[1]); err == nil {
			t.Errorf("Entries(%d, %d) succeeded on a log of %d", r[0], r[1], n)
		}
	}
	if _, err := l.WaitPublished(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Add(t.Context(), []byte("late")); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Add after Close: got %v, want ErrClosed", err)
	}

	// Reopen: the same log, and appending continues its sequence.
	l = open(t, dir, s)
	checkEntries(t, l, want)
	more := addAll(t, l, n, 500, 10)
	for idx, e := range more {
		if idx < n {
			t.Fatalf("Add after reopen returned index %d, want at least %d", idx, n)
		}
		want[idx] = e
	}
	checkEntries(t, l, want)
	cp, err := l.WaitPublished(t.Context(), n+500)
	if err != nil {
		t.Fatal(err)
	}
	if got := checkpointSize(t, cp); got != n+500 {
		t.Errorf("published size %d, want %d", got, n+500)
	}
}

func TestOpenTwice(t *testing.T) {
	dir := t.TempDir()
	s, _ := newKey(t)
	l := open(t, dir, s)
	if _, err := ledger.Open(t.Context(), ledger.Config{Dir: dir, Signer: s}); !errors.Is(err, ledger.ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
	if _, err := l.Add(t.Context(), []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	l = open(t, dir, s)
	if idx, err := l.Add(t.Context(), []byte("two")); err != nil || idx != 1 {
		t.Fatalf("Add after reopen = %d, %v; want 1, nil", idx, err)
	}
}

func TestTooLarge(t *testing.T) {
	s, _ := newKey(t)
	l := open(t, t.TempDir(), s)
	if _, err := l.Add(t.Context(), []byte("first")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Add(t.Context(), make([]byte, 70000)); !errors.Is(err, ledger.ErrTooLarge) {
		t.Fatalf("Add of 70000 bytes: got %v, want ErrTooLarge", err)
	}
	if _, err := l.Add(t.Context(), make([]byte, ledger.MaxEntrySize+1)); !errors.Is(err, ledger.ErrTooLarge) {
		t.Fatalf("Add of %d bytes: got %v, want ErrTooLarge", ledger.MaxEntrySize+1, err)
	}
	if size, err := l.Size(t.Context()); err != nil || size != 1 {
		t.Fatalf("Size() = %d, %v; want 1, nil", size, err)
	}
	if idx, err := l.Add(t.Context(), []byte("second")); err != nil || idx != 1 {
		t.Fatalf("Add after a refused entry = %d, %v; want 1, nil", idx, err)
	}
}

func TestOpenNewLogHasCheckpoint(t *testing.T) {
	s, v := newKey(t)
	l := open(t, t.TempDir(), s)
	cp, err := l.Checkpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(cp, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	// SPEC: https://c2sp.org/tlog-checkpoint: the empty tree's hash is SHA-256 of nothing.
	empty := sha256.Sum256(nil)
	if want := origin + "\n0\n" + base64.StdEncoding.EncodeToString(empty[:]) + "\n"; n.Text != want {
		t.Errorf("new log checkpoint text %q, want %q", n.Text, want)
	}
}

func TestVerifierKey(t *testing.T) {
	// Several keys, so that some base64 keys hold a + sign.
	for range 20 {
		skey, vkey, err := ledger.GenerateKey(origin)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ledger.VerifierKey(skey + "\n")
		if err != nil {
			t.Fatal(err)
		}
		if got != vkey {
			t.Errorf("VerifierKey(%q) = %q, want %q", skey, got, vkey)
		}
		if _, err := ledger.VerifierKey(vkey); err == nil {
			t.Errorf("VerifierKey(%q) accepted a verifier key", vkey)
		}
	}
}

// TestHandler reads the log over HTTP as an independent C2SP client would:
// it verifies the checkpoint with the verifier key, then checks every entry
// bundle against the tiles and the tiles against the checkpoint, using
// golang.org/x/mod/sumdb/tlog rather than Tessera.
func TestHandler(t *testing.T) {
	const n = 700 // two full bundles, a partial one, and a partial level-1 tile
	s, v := newKey(t)
	l := open(t, t.TempDir(), s)
	added := addAll(t, l, 0, n, 20)
	if _, err := l.WaitPublished(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/log/", http.StripPrefix("/log", l.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &client{t: t, base: srv.URL + "/log"}

	raw := c.get("/checkpoint", "text/plain; charset=utf-8", "no-cache")
	cp, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		t.Fatalf("cannot verify checkpoint %q: %v", raw, err)
	}
	tree := parseCheckpoint(t, cp.Text)
	if tree.N < n {
		t.Fatalf("checkpoint size %d, want at least %d", tree.N, n)
	}

	// Every record hash, authenticated by tiles up to the checkpoint's root.
	indexes := make([]int64, tree.N)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, int64(i))
	}
	hashes, err := tlog.TileHashReader(tree, c).ReadHashes(indexes)
	if err != nil {
		t.Fatalf("cannot read record hashes: %v", err)
	}

	// Every entry, from the bundles, must hash to its record hash.
	for b := int64(0); b*256 < tree.N; b++ {
		w := min(tree.N-b*256, 256)
		cache := "public, max-age=31536000, immutable"
		if w < 256 {
			cache = "public, max-age=60"
		}
		bundle := parseBundle(t, c.get("/"+tilePath("entries", b, w), "application/octet-stream", cache))
		if int64(len(bundle)) != w {
			t.Fatalf("bundle %d has %d entries, want %d", b, len(bundle), w)
		}
		for j, e := range bundle {
			i := b*256 + int64(j)
			if got, want := tlog.RecordHash(e), hashes[i]; got != want {
				t.Fatalf("entry %d hashes to %v, want %v", i, got, want)
			}
			if !bytes.Equal(e, added[uint64(i)]) {
				t.Fatalf("entry %d over HTTP = %.40q, want %.40q", i, e, added[uint64(i)])
			}
		}
	}
}

func TestHandlerRefuses(t *testing.T) {
	s, _ := newKey(t)
	l := open(t, t.TempDir(), s)
	if _, err := l.Add(t.Context(), []byte("an entry")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.WaitPublished(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	h := l.Handler()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/checkpoint", http.StatusOK},
		{"HEAD", "/checkpoint", http.StatusOK},
		{"GET", "/tile/0/000.p/1", http.StatusOK},
		{"GET", "/tile/entries/000.p/1", http.StatusOK},
		{"POST", "/checkpoint", http.StatusMethodNotAllowed},
		{"GET", "/tile/0/000", http.StatusNotFound}, // not full yet
		{"GET", "/.state/treeState", http.StatusNotFound},
		{"GET", "/.state/", http.StatusNotFound},
		{"GET", "/tile/../.state/treeState", http.StatusNotFound},
		{"GET", "/tile/entries/../../.state/treeState", http.StatusNotFound},
		{"GET", "/tile/0/../../checkpoint", http.StatusNotFound},
		{"GET", "/", http.StatusNotFound},
		{"GET", "/tile/", http.StatusNotFound},
		{"GET", "/tile/0/", http.StatusNotFound},
		{"GET", "/tile/0/000.p", http.StatusNotFound},
		{"GET", "/tile/0/000.p/", http.StatusNotFound},
		{"GET", "/tile/entries", http.StatusNotFound},
		{"GET", "/tile/entries/000.p/01", http.StatusNotFound},
		{"GET", "/tile/entries/x000/000.p/1", http.StatusNotFound},
		{"GET", "/tile/00/000.p/1", http.StatusNotFound},
		{"GET", "/checkpoint/", http.StatusNotFound},
		{"GET", "//checkpoint", http.StatusNotFound},
		{"GET", "/nope", http.StatusNotFound},
	} {
		r := httptest.NewRequest(tc.method, "/", nil)
		r.URL.Path = tc.path // as sent, uncleaned
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.want {
			t.Errorf("%s %s: got %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}

	// Through a real server and client too, which may redirect a path
	// with ../ before it reaches the handler: still nothing private.
	mux := http.NewServeMux()
	mux.Handle("/log/", http.StripPrefix("/log", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, p := range []string{"/log/.state/treeState", "/log/tile/../.state/treeState", "/log/tile/%2e%2e/.state/treeState", "/log/tile/0/", "/log/unknown"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: got %d, want 404", p, resp.StatusCode)
		}
	}
}

// client fetches tiles over HTTP for tlog.TileHashReader.
type client struct {
	t    *testing.T
	base string
}

// get fetches path, checking the status and the headers.
func (c *client) get(path, contentType, cache string) []byte {
	c.t.Helper()
	resp, err := http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: got %s, want 200", path, resp.Status)
	}
	if got := resp.Header.Get("Content-Type"); got != contentType {
		c.t.Errorf("GET %s: Content-Type %q, want %q", path, got, contentType)
	}
	if got := resp.Header.Get("Cache-Control"); got != cache {
		c.t.Errorf("GET %s: Cache-Control %q, want %q", path, got, cache)
	}
	return body
}

func (c *client) Height() int { return 8 }

func (c *client) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, tile := range tiles {
		cache := "public, max-age=31536000, immutable"
		if tile.W < 256 {
			cache = "public, max-age=60"
		}
		data[i] = c.get("/"+tilePath(strconv.Itoa(tile.L), tile.N, int64(tile.W)), "application/octet-stream", cache)
	}
	return data, nil
}

func (c *client) SaveTiles([]tlog.Tile, [][]byte) {}

// tilePath is the C2SP tlog-tiles path of a tile at level (or "entries"),
// written here from the spec rather than taken from Tessera: N in 3-digit
// groups, all but the last prefixed with x, and .p/<W> for a partial tile.
// SPEC: https://c2sp.org/tlog-tiles#merkle-tree
func tilePath(level string, n, w int64) string {
	nStr := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		nStr = fmt.Sprintf("x%03d/%s", n%1000, nStr)
	}
	p := "tile/" + level + "/" + nStr
	if w < 256 {
		p += ".p/" + strconv.FormatInt(w, 10)
	}
	return p
}

func TestTilePath(t *testing.T) {
	for _, tc := range []struct {
		level string
		n, w  int64
		want  string
	}{
		{"0", 0, 256, "tile/0/000"},
		{"1", 1234067, 256, "tile/1/x001/x234/067"},
		{"entries", 1000, 3, "tile/entries/x001/000.p/3"},
	} {
		if got := tilePath(tc.level, tc.n, tc.w); got != tc.want {
			t.Errorf("tilePath(%q, %d, %d) = %q, want %q", tc.level, tc.n, tc.w, got, tc.want)
		}
	}
}

// parseCheckpoint parses a checkpoint's text, origin, size and root hash.
// SPEC: https://c2sp.org/tlog-checkpoint
func parseCheckpoint(t *testing.T, text string) tlog.Tree {
	t.Helper()
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[0] != origin {
		t.Fatalf("checkpoint text %q: want origin %q, size, hash", text, origin)
	}
	// tlog.ParseTree reads the same size and hash lines after its own header.
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + strings.Join(lines[1:], "\n")))
	if err != nil {
		t.Fatalf("checkpoint text %q: %v", text, err)
	}
	return tree
}

// checkpointSize returns the size of a signed checkpoint, unverified.
func checkpointSize(t *testing.T, cp []byte) int64 {
	t.Helper()
	return parseCheckpoint(t, string(cp[:bytes.Index(cp, []byte("\n\n"))+1])).N
}

// parseBundle splits an entry bundle: big-endian uint16 length-prefixed entries.
// SPEC: https://c2sp.org/tlog-tiles#log-entries
func parseBundle(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var entries [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			t.Fatalf("bundle ends in a partial length")
		}
		n := int(b[0])<<8 | int(b[1])
		if len(b) < 2+n {
			t.Fatalf("bundle entry of %d bytes, %d left", n, len(b)-2)
		}
		entries = append(entries, b[2:2+n])
		b = b[2+n:]
	}
	return entries
}

// BenchmarkAdd measures raw appends to Tessera's POSIX driver with the
// default batching: 1 KiB entries from a number of concurrent writers, as a
// server's handlers would add them. Each Add waits for its batch to be
// written, so throughput grows with the writers: a batch is written when it
// holds BatchMaxSize entries or is BatchMaxAge old.
func BenchmarkAdd(b *testing.B) {
	for _, writers := range []int{64, 256, 1024} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, _ := newKey(b)
			l, err := ledger.Open(b.Context(), ledger.Config{Dir: b.TempDir(), Signer: s})
			if err != nil {
				b.Fatal(err)
			}
			entry := bytes.Repeat([]byte{'e'}, 1024)
			b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := l.Add(context.Background(), entry); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			b.StopTimer()
			if err := l.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/audit"
	"github.com/truce-mechanism/truce/internal/ledger"
)

// followInterval is the tests' poll interval: short, so that a fault is
// seen at once.
const followInterval = 20 * time.Millisecond

// follower is audit.Follow running in the background.
type follower struct {
	t        *testing.T
	cancel   context.CancelFunc
	done     chan struct{}
	report   *audit.Report
	err      error
	mu       sync.Mutex
	size     uint64
	changed  chan struct{}
	statuses []audit.Status
}

// follow starts a follower of url with its mirror in dir.
func (f *fixture) follow(t *testing.T, url, dir string, mod func(*audit.FollowConfig)) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fl := &follower{t: t, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{}, 1)}
	cfg := audit.FollowConfig{
		Config:   audit.Config{Server: url, LogKey: f.info.LogKey},
		Dir:      dir,
		Interval: followInterval,
		Accepted: func(s audit.Status) {
			fl.mu.Lock()
			fl.size = s.Size
			fl.statuses = append(fl.statuses, s)
			fl.mu.Unlock()
			select {
			case fl.changed <- struct{}{}:
			default:
			}
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	go func() {
		defer close(fl.done)
		fl.report, fl.err = audit.Follow(ctx, cfg)
	}()
	t.Cleanup(fl.stop)
	return fl
}

// waitSize waits until the follower has accepted a checkpoint of at least
// size entries.
func (fl *follower) waitSize(size uint64) {
	fl.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		fl.mu.Lock()
		got := fl.size
		fl.mu.Unlock()
		if got >= size {
			return
		}
		select {
		case <-fl.changed:
		case <-fl.done:
			fl.t.Fatalf("the follower stopped at size %d, before %d: %v%s", got, size, fl.err, reportProblems(fl.report))
		case <-deadline:
			fl.t.Fatalf("the follower is at size %d after 30s, want %d", got, size)
		}
	}
}

// fault waits for the follower to stop on a fault, and returns its report.
func (fl *follower) fault() *audit.Report {
	fl.t.Helper()
	select {
	case <-fl.done:
	case <-time.After(30 * time.Second):
		fl.t.Fatal("the follower found no fault in 30s")
	}
	if !errors.Is(fl.err, audit.ErrFault) {
		fl.t.Fatalf("the follower ended with %v, want ErrFault", fl.err)
	}
	return fl.report
}

// stop stops the follower and wants it to end without a fault.
func (fl *follower) stop() {
	fl.cancel()
	<-fl.done
}

func (fl *follower) clean() {
	fl.t.Helper()
	fl.stop()
	if fl.err != nil {
		fl.t.Fatalf("the follower ended with %v%s", fl.err, reportProblems(fl.report))
	}
}

func reportProblems(r *audit.Report) string {
	if r == nil {
		return ""
	}
	return problems(r)
}

// webhook is a receiver of the follower's reports.
type webhook struct {
	ts      *httptest.Server
	mu      sync.Mutex
	reports []audit.Report
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.ts = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var rep audit.Report
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &rep) != nil {
			t.Errorf("webhook got %s %s %q", r.Method, r.Header.Get("Content-Type"), body)
		}
		w.mu.Lock()
		w.reports = append(w.reports, rep)
		w.mu.Unlock()
	}))
	t.Cleanup(w.ts.Close)
	return w
}

// got wants exactly one report, with a problem of kind at index (any
// for -1) holding words, and returns that problem.
func (w *webhook) got(t *testing.T, kind string, index int64, words ...string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.reports) != 1 {
		t.Fatalf("the webhook got %d reports, want 1", len(w.reports))
	}
	if len(find(&w.reports[0], kind, index, words...)) == 0 {
		t.Fatalf("the webhook's report has no %s problem at %d with %q:%s", kind, index, words, problems(&w.reports[0]))
	}
}

// proxy stands between a follower and a fixture's server: it counts the
// requests for each path and may serve something else.
type proxy struct {
	ts    *httptest.Server
	mu    sync.Mutex
	paths map[string]int
	// override, when it returns true, has served the request itself.
	override atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
}

func newProxy(t *testing.T, next http.Handler) *proxy {
	p := &proxy{paths: map[string]int{}}
	p.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.paths[r.URL.Path]++
		p.mu.Unlock()
		if o := p.override.Load(); o != nil && (*o)(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(p.ts.Close)
	return p
}

func (p *proxy) set(o func(w http.ResponseWriter, r *http.Request) bool) { p.override.Store(&o) }

// tiles returns the tile and bundle paths requested, and forgets them.
func (p *proxy) tiles() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for path, n := range p.paths {
		if strings.HasPrefix(path, "/log/tile/") {
			out[path] = n
		}
	}
	p.paths = map[string]int{}
	return out
}

// wantFault checks that a report names a fault of kind at index (any for
// -1) with every one of words, and logs it.
func wantFault(t *testing.T, r *audit.Report, kind string, index int64, words ...string) {
	t.Helper()
	if len(find(r, kind, index, words...)) == 0 {
		t.Fatalf("want a %s problem at %d with %q, got:%s", kind, index, words, problems(r))
	}
	t.Logf("found:%s", problems(r))
}

func TestFollowClean(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	size := f.settle()
	dir := t.TempDir()
	fl := f.follow(t, f.ts.URL, dir, nil)
	fl.waitSize(size)
	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-4", "occurred", "yes", "")))
	size = f.settle()
	fl.waitSize(size)
	fl.clean()
	r := fl.report
	if len(r.Problems) != 0 || r.Size != size || r.Entries != size {
		t.Fatalf("followed to size %d, %d entries, want %d:%s", r.Size, r.Entries, size, problems(r))
	}
	// The follower holds the verdicts of no entry it has compared.
	fl.mu.Lock()
	first := fl.statuses[0]
	fl.mu.Unlock()
	if first.Held != 0 {
		t.Errorf("the follower holds %d verdicts after comparing all %d entries, want 0", first.Held, first.Size)
	}
	// The mirror is the log: the same checkpoint, tiles and bundles.
	for _, name := range []string{"checkpoint", "tile/0/000.p/" + strconv.Itoa(int(size)), "tile/entries/000.p/" + strconv.Itoa(int(size))} {
		mine, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(filepath.Join(f.dir, "log", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mine, theirs) {
			t.Errorf("the mirror's %s differs from the log's", name)
		}
	}
	var st struct {
		Size uint64 `json:"size"`
		Root string `json:"root"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "follow.json"))
	if err != nil || json.Unmarshal(b, &st) != nil || st.Size != size || st.Root != r.Root {
		t.Errorf("follow.json = %s, %v; want size %d, root %s", b, err, size, r.Root)
	}
}

// TestFollowTamperedFiles tampers with a real server's folder, then
// starts a follower: each fault is reported, naming what and where, to
// the caller and to the webhook.
func TestFollowTamperedFiles(t *testing.T) {
	const victim = 5
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, f *fixture, size uint64)
		kind   string
		index  int64
		words  []string
	}{
		{"tile", func(t *testing.T, f *fixture, size uint64) {
			flip(t, filepath.Join(f.dir, "log", "tile", "0", "000.p", strconv.Itoa(int(size))), victim*32+3)
		}, audit.KindTile, victim, []string{"tile/0/000.p/", "altered"}},
		{"bundle", func(t *testing.T, f *fixture, size uint64) {
			name := filepath.Join(f.dir, "log", "tile", "entries", "000.p", strconv.Itoa(int(size)))
			b, _ := os.ReadFile(name)
			off, n := bundleEntry(t, b, victim)
			flip(t, name, off+n/2)
		}, audit.KindEntry, victim, []string{"tile/entries/000.p/", "altered"}},
		{"checkpoint", func(t *testing.T, f *fixture, size uint64) {
			name := filepath.Join(f.dir, "log", "checkpoint")
			b, _ := os.ReadFile(name)
			flip(t, name, bytes.IndexByte(b, '\n')+bytes.IndexByte(b[bytes.IndexByte(b, '\n')+1:], '\n')+5) // in the root hash
		}, audit.KindCheckpoint, -1, []string{"GET /log/checkpoint", "signature by the log key", "does not verify"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.scenario()
			size := f.settle()
			tc.tamper(t, f, size)
			hook := newWebhook(t)
			fl := f.follow(t, f.ts.URL, t.TempDir(), func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
			r := fl.fault()
			wantFault(t, r, tc.kind, tc.index, tc.words...)
			hook.got(t, tc.kind, tc.index, tc.words...)
		})
	}
}

// forgeLog writes, in a new folder, a log of entries laid out as C2SP
// tlog-tiles, with every tile computed from them by x/mod's tlog and a
// checkpoint signed with the fixture's log key: the log an operator who
// rewrote history would serve.
func (f *fixture) forgeLog(t *testing.T, entries [][]byte) string {
	t.Helper()
	dir := t.TempDir()
	var hashes []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for i, e := range entries {
		h, err := tlog.StoredHashes(int64(i), e, hr)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h...)
	}
	n := int64(len(entries))
	write := func(p string, data []byte) {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tile := range tlog.NewTiles(8, 0, n) {
		data, err := tlog.ReadTileData(tile, hr)
		if err != nil {
			t.Fatal(err)
		}
		write(c2spTilePath(strconv.Itoa(tile.L), tile.N, int64(tile.W)), data)
	}
	for b := int64(0); b*256 < n; b++ {
		var bundle []byte
		for _, e := range entries[b*256 : min(n, b*256+256)] {
			bundle = append(bundle, byte(len(e)>>8), byte(len(e)))
			bundle = append(bundle, e...)
		}
		write(c2spTilePath("entries", b, min(256, n-b*256)), bundle)
	}
	root, err := tlog.TreeHash(n, hr)
	if err != nil {
		t.Fatal(err)
	}
	write("checkpoint", f.signCheckpoint(t, n, root))
	return dir
}

// signCheckpoint signs a checkpoint with the fixture's log key.
func (f *fixture) signCheckpoint(t *testing.T, n int64, root tlog.Hash) []byte {
	t.Helper()
	skey, err := os.ReadFile(filepath.Join(f.dir, "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ledger.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", testOrigin, n, base64.StdEncoding.EncodeToString(root[:]))}, signer)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// c2spTilePath is the C2SP tlog-tiles path of a tile at level (or
// "entries"), written from the spec.
// SPEC: https://c2sp.org/tlog-tiles#merkle-tree
func c2spTilePath(level string, n, w int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	p := "tile/" + level + "/" + s
	if w < 256 {
		p += ".p/" + strconv.FormatInt(w, 10)
	}
	return p
}

// serveLog serves a log folder under /log/, and the rest from next.
func serveLog(dir string, next http.Handler) http.Handler {
	files := http.StripPrefix("/log/", http.FileServer(http.Dir(dir)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/log/") {
			files.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestFollowRewrittenHistory drops, reorders or duplicates an entry of a
// real server's log. Where only the entry bundle is rewritten, the tree
// still has the old entries, and the follower names the entries that do
// not hash to it. Where the tiles are rebuilt and the checkpoint signed
// again with the log key, the log verifies on its own: a follower that
// had accepted the real log finds the new one inconsistent with it, and a
// new follower finds the server's verdicts (made on the real log) not the
// replay's.
func TestFollowRewrittenHistory(t *testing.T) {
	const k = 6
	for _, tc := range []struct {
		name    string
		rewrite func([][]byte) [][]byte
		// What a follower finds when only the bundle is rewritten.
		bundleIndex int64
		bundleWords []string
		// What a follower that had accepted the real log finds.
		treeWords []string
		// What a new follower finds in the verdicts.
		verdictIndex int64
		verdictWords []string
	}{
		{"drop", func(e [][]byte) [][]byte { return append(e[:k:k], e[k+1:]...) },
			-1, []string{"tile/entries/000.p/", "entries, want"},
			[]string{"went back from size", "rolled back"},
			k, []string{"the server gives statement id"}},
		{"reorder", func(e [][]byte) [][]byte {
			out := append([][]byte(nil), e...)
			out[k], out[k+1] = out[k+1], out[k]
			return out
		}, k, []string{"tile/entries/000.p/", "altered"},
			[]string{"accepted before has root", "rewritten"},
			k, []string{"the server gives statement id"}},
		{"duplicate", func(e [][]byte) [][]byte {
			out := append([][]byte(nil), e[:k+1]...)
			out = append(out, e[k])
			return append(out, e[k+1:]...)
		}, k + 1, []string{"tile/entries/000.p/", "altered"},
			[]string{"is not consistent with the checkpoint of size"},
			k + 1, []string{"the server gives statement id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.scenario()
			size := f.settle()
			entries, err := f.srv.Ledger.Entries(context.Background(), 0, size)
			if err != nil {
				t.Fatal(err)
			}
			forged := tc.rewrite(entries)

			t.Run("bundle", func(t *testing.T) {
				// The real log's folder, with only the bundle rewritten,
				// as large as the tree says (or, dropped, one short).
				dir := t.TempDir()
				copyDir(t, filepath.Join(f.dir, "log"), dir)
				var bundle []byte
				for _, e := range forged[:min(len(forged), int(size))] {
					bundle = append(bundle, byte(len(e)>>8), byte(len(e)))
					bundle = append(bundle, e...)
				}
				if err := os.WriteFile(filepath.Join(dir, "tile", "entries", "000.p", strconv.Itoa(int(size))), bundle, 0o644); err != nil {
					t.Fatal(err)
				}
				ts := httptest.NewServer(serveLog(dir, f.srv.Handler()))
				defer ts.Close()
				hook := newWebhook(t)
				fl := f.follow(t, ts.URL, t.TempDir(), func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
				r := fl.fault()
				wantFault(t, r, audit.KindEntry, tc.bundleIndex, tc.bundleWords...)
				hook.got(t, audit.KindEntry, tc.bundleIndex, tc.bundleWords...)
			})

			forgedDir := f.forgeLog(t, forged)
			t.Run("tree", func(t *testing.T) {
				p := newProxy(t, f.srv.Handler())
				hook := newWebhook(t)
				fl := f.follow(t, p.ts.URL, t.TempDir(), func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
				fl.waitSize(size)
				forgedLog := serveLog(forgedDir, f.srv.Handler())
				p.set(func(w http.ResponseWriter, r *http.Request) bool {
					forgedLog.ServeHTTP(w, r)
					return true
				})
				r := fl.fault()
				wantFault(t, r, audit.KindCheckpoint, -1, tc.treeWords...)
				hook.got(t, audit.KindCheckpoint, -1, tc.treeWords...)
			})
			t.Run("new follower", func(t *testing.T) {
				ts := httptest.NewServer(serveLog(forgedDir, f.srv.Handler()))
				defer ts.Close()
				fl := f.follow(t, ts.URL, t.TempDir(), nil)
				r := fl.fault()
				wantFault(t, r, audit.KindVerdict, tc.verdictIndex, tc.verdictWords...)
			})
		})
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFollowRollback serves a follower an older checkpoint of the log
// after it accepted a newer one.
func TestFollowRollback(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	first := f.settle()
	old, err := f.srv.Ledger.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-4", "occurred", "yes", "")))
	size := f.settle()

	p := newProxy(t, f.srv.Handler())
	hook := newWebhook(t)
	fl := f.follow(t, p.ts.URL, t.TempDir(), func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
	fl.waitSize(size)
	p.set(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/log/checkpoint" {
			return false
		}
		w.Write(old)
		return true
	})
	r := fl.fault()
	words := []string{fmt.Sprintf("went back from size %d", size), fmt.Sprintf("to size %d", first), "rolled back"}
	wantFault(t, r, audit.KindCheckpoint, -1, words...)
	hook.got(t, audit.KindCheckpoint, -1, words...)
}

// cosigner is a witness's cosignature key.
type cosigner struct {
	signer *f_note.Signer
	vkey   string // the 0x04 key a charter lists
}

func newCosigner(t *testing.T, name string) *cosigner {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f_note.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := f_note.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return &cosigner{signer: s, vkey: cv}
}

// cosign adds the witness's cosignature line to a signed checkpoint.
func (c *cosigner) cosign(t *testing.T, cp []byte) []byte {
	t.Helper()
	text, _, ok := bytes.Cut(cp, []byte("\n\n"))
	if !ok {
		t.Fatalf("checkpoint %q is not a signed note", cp)
	}
	signed, err := note.Sign(&note.Note{Text: string(text) + "\n"}, c.signer)
	if err != nil {
		t.Fatal(err)
	}
	line := signed[bytes.LastIndex(signed, []byte("\n\n"))+2:]
	return append(bytes.Clone(cp), line...)
}

// witnessServer serves GET /checkpoint?origin= as a truce witness does:
// the checkpoint it cosigned last, 404 before any.
func witnessServer(t *testing.T, latest func() []byte) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/checkpoint" || r.URL.Query().Get("origin") != testOrigin {
			http.NotFound(w, r)
			return
		}
		cp := latest()
		if cp == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(cp)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// TestFollowFork serves two forks of one log, one key and different
// entries, to two clients. A follower served one fork and then the other
// finds them inconsistent; a follower of one fork that asks a witness
// which cosigned the other finds a split view, and one of the fork the
// witness cosigned finds nothing wrong.
func TestFollowFork(t *testing.T) {
	a := newFixture(t)
	skey, err := os.ReadFile(filepath.Join(a.dir, "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	b := newFixtureWithKey(t, strings.TrimSpace(string(skey)))
	for _, f := range []*fixture{a, b} {
		f.post(f.envelope("", "tr-1", truce.TypeCharter, charter("72h"), charterSigners...))
		f.post(f.envelope("inc-1", "af-1", truce.TypeIncident, incident("PK", "AF")))
	}
	// The forks part here, at index 2, and are of one size.
	a.post(a.envelope("inc-2", "mon-1", truce.TypeIncident, incident("unknown", "PK")))
	b.post(b.envelope("inc-2", "pk-1", truce.TypeIncident, incident("AF", "PK")))
	size := a.settle()
	if b.settle() != size {
		t.Fatal("the forks differ in size")
	}
	cpA, err := a.srv.Ledger.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("one follower, both forks", func(t *testing.T) {
		p := newProxy(t, a.srv.Handler())
		hook := newWebhook(t)
		fl := a.follow(t, p.ts.URL, t.TempDir(), func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
		fl.waitSize(size)
		p.set(func(w http.ResponseWriter, r *http.Request) bool {
			b.srv.Handler().ServeHTTP(w, r)
			return true
		})
		r := fl.fault()
		words := []string{fmt.Sprintf("checkpoint of size %d has root", size), "accepted before has root", "rewritten"}
		wantFault(t, r, audit.KindCheckpoint, -1, words...)
		hook.got(t, audit.KindCheckpoint, -1, words...)
	})

	w := newCosigner(t, "witness.test/w1")
	witness := witnessServer(t, func() []byte { return w.cosign(t, cpA) })
	t.Run("witness, same size", func(t *testing.T) {
		hook := newWebhook(t)
		fl := b.follow(t, b.ts.URL, t.TempDir(), func(c *audit.FollowConfig) {
			c.Witnesses = []string{witness.URL}
			c.Webhook = hook.ts.URL
		})
		r := fl.fault()
		words := []string{"witness " + witness.URL, fmt.Sprintf("cosigned the checkpoint of size %d with root", size), "two histories"}
		wantFault(t, r, audit.KindSplitView, -1, words...)
		hook.got(t, audit.KindSplitView, -1, words...)
	})
	t.Run("witness, smaller", func(t *testing.T) {
		// Fork B grows: the witness's checkpoint of fork A is now smaller
		// than B's, and no proof makes it consistent.
		b.post(b.envelope("", "tr-1", truce.TypeAssessment, vote("inc-1", "occurred", "yes", "")))
		b.settle()
		hook := newWebhook(t)
		fl := b.follow(t, b.ts.URL, t.TempDir(), func(c *audit.FollowConfig) {
			c.Witnesses = []string{witness.URL}
			c.Webhook = hook.ts.URL
		})
		r := fl.fault()
		words := []string{"witness " + witness.URL, "not consistent with the checkpoint of size"}
		wantFault(t, r, audit.KindSplitView, -1, words...)
		hook.got(t, audit.KindSplitView, -1, words...)
	})
	t.Run("witness agrees", func(t *testing.T) {
		fl := a.follow(t, a.ts.URL, t.TempDir(), func(c *audit.FollowConfig) { c.Witnesses = []string{witness.URL} })
		fl.waitSize(size)
		a.post(a.envelope("", "tr-1", truce.TypeAssessment, vote("inc-1", "occurred", "yes", "")))
		fl.waitSize(a.settle())
		time.Sleep(5 * followInterval)
		fl.clean()
	})
}

// addCheckpointWitness is a C2SP tlog-witness that cosigns whatever the
// log signed (it checks no proofs: the server under test is honest), and
// serves the latest it cosigned at GET /checkpoint?origin=.
func addCheckpointWitness(t *testing.T, w *cosigner, logKey string) *httptest.Server {
	v, err := note.NewVerifier(logKey)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var latest []byte
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/add-checkpoint":
			body, _ := io.ReadAll(r.Body)
			_, cp, ok := bytes.Cut(body, []byte("\n\n"))
			if !ok {
				http.Error(rw, "bad request", http.StatusBadRequest)
				return
			}
			if _, err := note.Open(cp, note.VerifierList(v)); err != nil {
				http.Error(rw, err.Error(), http.StatusForbidden)
				return
			}
			cosigned := w.cosign(t, cp)
			mu.Lock()
			latest = cosigned
			mu.Unlock()
			rw.Write(cosigned[len(cp):])
		case "/checkpoint":
			mu.Lock()
			cp := latest
			mu.Unlock()
			if cp == nil {
				http.NotFound(rw, r)
				return
			}
			rw.Write(cp)
		default:
			http.NotFound(rw, r)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

// TestFollowWitnessPolicy follows a mechanism whose charter asks for a
// witness's cosignature: the follower accepts the cosigned checkpoints,
// and faults the first served without the cosignature.
func TestFollowWitnessPolicy(t *testing.T) {
	f := newFixture(t)
	w := newCosigner(t, "witness.test/w1")
	witness := addCheckpointWitness(t, w, f.info.LogKey)
	c := charter("72h")
	c.Witnesses = []truce.Witness{{Name: "w1", Key: w.vkey, URL: witness.URL}}
	f.post(f.envelope("", "tr-1", truce.TypeCharter, c, charterSigners...))
	f.post(f.envelope("inc-1", "af-1", truce.TypeIncident, incident("PK", "AF")))
	size := f.settle()
	p := newProxy(t, f.srv.Handler())
	hook := newWebhook(t)
	fl := f.follow(t, p.ts.URL, t.TempDir(), func(c *audit.FollowConfig) {
		c.Webhook = hook.ts.URL
		c.Witnesses = []string{witness.URL}
	})
	fl.waitSize(size)
	f.post(f.envelope("inc-2", "af-1", truce.TypeIncident, incident("PK", "AF")))
	size = f.settle()
	fl.waitSize(size)
	fl.mu.Lock()
	last := fl.statuses[len(fl.statuses)-1]
	fl.mu.Unlock()
	if len(last.Cosigned) != 1 || last.Cosigned[0] != "w1" {
		t.Errorf("the checkpoint of size %d was accepted cosigned by %v, want [w1]", last.Size, last.Cosigned)
	}

	// A checkpoint served without its cosignature.
	stripCosignatures(p, f)
	r := fl.fault()
	words := []string{fmt.Sprintf("the server's checkpoint of size %d", size), "does not satisfy the witness policy in force for it, w1", "cosigned by no witness"}
	wantFault(t, r, audit.KindWitness, -1, words...)
	hook.got(t, audit.KindWitness, -1, words...)
}

// TestFollowResume stops a follower and starts another on its mirror: it
// resumes from the mirror, fetches none of the tiles the first fetched,
// and still catches a later fault.
func TestFollowResume(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	size := f.settle()
	dir := t.TempDir()
	p := newProxy(t, f.srv.Handler())
	fl := f.follow(t, p.ts.URL, dir, nil)
	fl.waitSize(size)
	fl.clean()
	before := p.tiles()
	if len(before) == 0 {
		t.Fatal("the first follower fetched no tiles")
	}

	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-4", "occurred", "yes", "")))
	size = f.settle()
	hook := newWebhook(t)
	fl = f.follow(t, p.ts.URL, dir, func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
	fl.waitSize(size)
	after := p.tiles()
	for path := range after {
		if before[path] > 0 {
			t.Errorf("the resumed follower fetched %s again", path)
		}
	}
	fl.mu.Lock()
	first := fl.statuses[0]
	fl.mu.Unlock()
	if !first.Resumed || first.Size != size-1 {
		t.Errorf("the resumed follower's first status is %+v, want resumed at %d", first, size-1)
	}
	t.Logf("first follower fetched %d tiles and bundles, the resumed one %d: %v", len(before), len(after), after)

	// A later entry's bundle is served altered.
	victim := size
	bpath := "/log/" + c2spTilePath("entries", 0, int64(size+1))
	p.set(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != bpath {
			return false
		}
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		off, n := bundleEntry(t, b, int(victim))
		b[off+n/2] ^= 0x01
		w.Write(b)
		return true
	})
	f.post(f.envelope("", "qa-1", truce.TypeAssessment, vote("inc-4", "occurred", "yes", "")))
	r := fl.fault()
	wantFault(t, r, audit.KindEntry, int64(victim), "tile/entries/000.p/", "altered")
	hook.got(t, audit.KindEntry, int64(victim), "tile/entries/000.p/", "altered")
}

// TestFollowLyingProjection changes a finding in the server's projection
// while a follower watches.
func TestFollowLyingProjection(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	size := f.settle()
	hook := newWebhook(t)
	fl := f.follow(t, f.ts.URL, t.TempDir(), func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
	fl.waitSize(size)
	lie(t, f)
	r := fl.fault()
	words := []string{"question origin: server says decided AF at", "replay says decided PK at"}
	wantFault(t, r, audit.KindIncident, -1, words...)
	hook.got(t, audit.KindIncident, -1, words...)
}

// lie changes the projection's finding on inc-1's origin behind the
// server's back.
func lie(t *testing.T, f *fixture) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.dir, "state.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var doc []byte
	if err := db.QueryRow(`SELECT doc FROM subjects WHERE id = 'inc-1'`).Scan(&doc); err != nil {
		t.Fatal(err)
	}
	var sub map[string]any
	if err := json.Unmarshal(doc, &sub); err != nil {
		t.Fatal(err)
	}
	sub["questions"].(map[string]any)["origin"].(map[string]any)["answer"] = "AF"
	doc, _ = json.Marshal(sub)
	if _, err := db.Exec(`UPDATE subjects SET doc = ? WHERE id = 'inc-1'`, doc); err != nil {
		t.Fatal(err)
	}
}

// stripCosignatures has the proxy serve the server's checkpoint with its
// log signature alone.
func stripCosignatures(p *proxy, f *fixture) {
	p.set(func(rw http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/log/checkpoint" {
			return false
		}
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		sigs := bytes.Index(b, []byte("\n\n")) + 2
		first := bytes.IndexByte(b[sigs:], '\n')
		rw.Write(b[:sigs+first+1])
		return true
	})
}

// TestFollowWitnessPolicyFirstCheckpoint starts a follower on a server
// that strips the witness's cosignatures from the start: its first
// checkpoint, which holds the charter, is held to the charter's policy.
func TestFollowWitnessPolicyFirstCheckpoint(t *testing.T) {
	f := newFixture(t)
	w := newCosigner(t, "witness.test/w1")
	witness := addCheckpointWitness(t, w, f.info.LogKey)
	c := charter("72h")
	c.Witnesses = []truce.Witness{{Name: "w1", Key: w.vkey, URL: witness.URL}}
	f.post(f.envelope("", "tr-1", truce.TypeCharter, c, charterSigners...))
	f.post(f.envelope("inc-1", "af-1", truce.TypeIncident, incident("PK", "AF")))
	size := f.settle()
	p := newProxy(t, f.srv.Handler())
	stripCosignatures(p, f)
	hook := newWebhook(t)
	dir := t.TempDir()
	fl := f.follow(t, p.ts.URL, dir, func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
	r := fl.fault()
	words := []string{fmt.Sprintf("the server's checkpoint of size %d", size), "does not satisfy the witness policy in force for it, w1", "cosigned by no witness"}
	wantFault(t, r, audit.KindWitness, -1, words...)
	hook.got(t, audit.KindWitness, -1, words...)
	if _, err := os.Stat(filepath.Join(dir, "follow.json")); err == nil {
		t.Error("the follower accepted the checkpoint")
	}
}

// TestFollowWitnessAmendment follows an honest server whose charter
// amendment moves the witnessing from w1 to w2: the checkpoint that holds
// the amendment is cosigned by w2 alone, as the amendment asks, and is
// accepted.
func TestFollowWitnessAmendment(t *testing.T) {
	f := newFixture(t)
	w1, w2 := newCosigner(t, "witness.test/w1"), newCosigner(t, "witness.test/w2")
	ws1, ws2 := addCheckpointWitness(t, w1, f.info.LogKey), addCheckpointWitness(t, w2, f.info.LogKey)
	c := charter("72h")
	c.Witnesses = []truce.Witness{{Name: "w1", Key: w1.vkey, URL: ws1.URL}}
	f.post(f.envelope("", "tr-1", truce.TypeCharter, c, charterSigners...))
	f.post(f.envelope("inc-1", "af-1", truce.TypeIncident, incident("PK", "AF")))
	size := f.settle()
	hook := newWebhook(t)
	fl := f.follow(t, f.ts.URL, t.TempDir(), func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
	fl.waitSize(size)

	next := charter("72h")
	amend := &truce.CharterAmend{Version: 2, Members: next.Members, Clauses: next.Clauses, Rules: next.Rules,
		Witnesses: []truce.Witness{{Name: "w2", Key: w2.vkey, URL: ws2.URL}}}
	f.post(f.envelope("", "tr-1", truce.TypeCharterAmend, amend, charterSigners...))
	size = f.settle()
	fl.waitSize(size)
	fl.mu.Lock()
	last := fl.statuses[len(fl.statuses)-1]
	fl.mu.Unlock()
	if last.Size != size || len(last.Cosigned) != 1 || last.Cosigned[0] != "w2" {
		t.Errorf("the checkpoint of size %d was accepted cosigned by %v, want size %d by [w2]", last.Size, last.Cosigned, size)
	}
	fl.clean()
}

// TestFollowCrash leaves a mirror as a crash would between its writes,
// and resumes from it.
func TestFollowCrash(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	size := f.settle()
	dir := t.TempDir()
	fl := f.follow(t, f.ts.URL, dir, nil)
	fl.waitSize(size)
	fl.clean()
	stale, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-4", "occurred", "yes", "")))
	size = f.settle()
	fl = f.follow(t, f.ts.URL, dir, nil)
	fl.waitSize(size)
	fl.clean()

	t.Run("checkpoint behind follow.json", func(t *testing.T) {
		// follow.json accepted the new checkpoint; the copy for C2SP tools
		// was not written yet.
		if err := os.WriteFile(filepath.Join(dir, "checkpoint"), stale, 0o644); err != nil {
			t.Fatal(err)
		}
		fl := f.follow(t, f.ts.URL, dir, nil)
		fl.waitSize(size)
		fl.clean()
		if got, want := fl.statuses[0], size; !got.Resumed || got.Size != want {
			t.Errorf("first status %+v, want resumed at %d", got, want)
		}
	})
	t.Run("no follow.json", func(t *testing.T) {
		// The first checkpoint was never accepted: the mirror is new.
		if err := os.Remove(filepath.Join(dir, "follow.json")); err != nil {
			t.Fatal(err)
		}
		fl := f.follow(t, f.ts.URL, dir, nil)
		fl.waitSize(size)
		fl.clean()
	})
}

// TestFollowTruncatedMirror cuts short a bundle and a tile in a mirror, as
// a crash can since they are not synced: the follower fetches them again
// from the server, overwrites them, and finds nothing wrong.
func TestFollowTruncatedMirror(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	size := f.settle()
	dir := t.TempDir()
	fl := f.follow(t, f.ts.URL, dir, nil)
	fl.waitSize(size)
	fl.clean()
	names := []string{"tile/entries/000.p/" + strconv.Itoa(int(size)), "tile/0/000.p/" + strconv.Itoa(int(size))}
	for _, name := range names {
		if err := os.Truncate(filepath.Join(dir, name), 37); err != nil {
			t.Fatal(err)
		}
	}
	hook := newWebhook(t)
	fl = f.follow(t, f.ts.URL, dir, func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
	fl.waitSize(size)
	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-4", "occurred", "yes", "")))
	fl.waitSize(f.settle())
	fl.clean()
	for _, name := range names {
		mine, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(filepath.Join(f.dir, "log", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mine, theirs) {
			t.Errorf("the mirror's %s is still not the log's", name)
		}
	}
}

// TestFollowOutage has the server answer 503 to every tile request for a
// while after it publishes a new checkpoint: the follower cannot prove it
// consistent, waits, and accepts it once the tiles are served again.
func TestFollowOutage(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	size := f.settle()
	p := newProxy(t, f.srv.Handler())
	hook := newWebhook(t)
	fl := f.follow(t, p.ts.URL, t.TempDir(), func(c *audit.FollowConfig) { c.Webhook = hook.ts.URL })
	fl.waitSize(size)
	var refused atomic.Int64
	p.set(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/log/tile/") {
			return false
		}
		refused.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return true
	})
	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-4", "occurred", "yes", "")))
	size = f.settle()
	deadline := time.Now().Add(30 * time.Second)
	for refused.Load() < 2*5 { // two polls' worth of tries
		select {
		case <-fl.done:
			t.Fatalf("the follower stopped during the outage: %v%s", fl.err, reportProblems(fl.report))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the follower asked for no tiles in 30s")
		}
	}
	p.set(func(http.ResponseWriter, *http.Request) bool { return false })
	fl.waitSize(size)
	fl.clean()
}

// TestFollowReplayOutage has the server answer 503 for entry bundles
// during one poll, after it publishes a new checkpoint: the consistency
// proof passes, the replay cannot have the bundle, and the poll ends with
// an error rather than a fault. At the next poll the follower fetches the
// bundle, folds each new entry once, and accepts the checkpoint, with its
// replay equal to the server's.
func TestFollowReplayOutage(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	old := f.settle()
	p := newProxy(t, f.srv.Handler())
	hook := newWebhook(t)
	logs := new(lockedBuffer)
	dir := t.TempDir()
	fl := f.follow(t, p.ts.URL, dir, func(c *audit.FollowConfig) {
		c.Webhook = hook.ts.URL
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	fl.waitSize(old)
	var refused atomic.Int64
	p.set(func(w http.ResponseWriter, r *http.Request) bool {
		// Down until the follower has given up on one poll.
		if !strings.HasPrefix(r.URL.Path, "/log/tile/entries/") || strings.Contains(logs.String(), "cannot poll") {
			return false
		}
		refused.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return true
	})
	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-4", "occurred", "yes", "")))
	size := f.settle()
	fl.waitSize(size)
	fl.clean()
	if n := refused.Load(); n < 5 {
		t.Fatalf("the proxy refused %d bundle requests, want at least one request's 5 tries", n)
	}
	if !strings.Contains(logs.String(), "cannot replay the log from entry "+strconv.Itoa(int(old))) {
		t.Errorf("the follower did not log the replay cut short at entry %d:\n%s", old, logs)
	}
	r := fl.report
	if len(r.Problems) != 0 || r.Size != size || r.Entries != size {
		t.Fatalf("followed to size %d, %d entries, want %d:%s", r.Size, r.Entries, size, problems(r))
	}
	hook.mu.Lock()
	if len(hook.reports) != 0 {
		t.Errorf("the webhook got %d reports, want none", len(hook.reports))
	}
	hook.mu.Unlock()
	fl.mu.Lock()
	last := fl.statuses[len(fl.statuses)-1]
	fl.mu.Unlock()
	if last.Size != size || last.New != size-old || !last.Compared {
		t.Errorf("accepted size %d with %d new entries, compared %t; want size %d, %d new, compared", last.Size, last.New, last.Compared, size, size-old)
	}
	name := "tile/entries/000.p/" + strconv.Itoa(int(size))
	mine, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.ReadFile(filepath.Join(f.dir, "log", name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mine, theirs) {
		t.Errorf("the mirror's %s differs from the log's", name)
	}
}

// lockedBuffer is a bytes.Buffer that a logger writes to from many
// goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

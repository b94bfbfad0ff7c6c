package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/audit"
	"github.com/truce-mechanism/truce/internal/ledger"
)

func TestCleanAudit(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	size := f.settle()

	var last [2]uint64
	r, err := audit.Run(context.Background(), audit.Config{
		Server: f.ts.URL, LogKey: f.info.LogKey,
		Progress: func(done, total uint64) { last = [2]uint64{done, total} },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 0 {
		t.Fatalf("a clean mechanism has %d problems:%s", len(r.Problems), problems(r))
	}
	if r.Size != size || r.Entries != size || r.Accepted != size || r.Rejected != 0 || r.ServerApplied != size {
		t.Errorf("size %d, entries %d, accepted %d, rejected %d, server applied %d; want %d, %d, %d, 0, %d",
			r.Size, r.Entries, r.Accepted, r.Rejected, r.ServerApplied, size, size, size, size)
	}
	// Every statement is signed by its author; the charter and the
	// amendment by three more members each.
	if want := size + 6; r.Signatures != want || r.BadSignatures != 0 || r.UnknownKeySignatures != 0 {
		t.Errorf("signatures %d good, %d bad, %d unknown; want %d, 0, 0", r.Signatures, r.BadSignatures, r.UnknownKeySignatures, want)
	}
	if r.CharterVersion != 2 {
		t.Errorf("charter version %d, want 2", r.CharterVersion)
	}
	wantIncidents := map[string]int{"decided": 1, "disputed": 1, "withdrawn": 1, "awaiting_reply": 1}
	if !equalCounts(r.Incidents, wantIncidents) || !equalCounts(r.Actions, map[string]int{"decided": 1}) {
		t.Errorf("incidents %v, actions %v; want %v, map[decided:1]", r.Incidents, r.Actions, wantIncidents)
	}
	if last != [2]uint64{size, size} {
		t.Errorf("last progress %v, want [%d %d]", last, size, size)
	}
}

func TestEmptyLog(t *testing.T) {
	f := newFixture(t)
	f.settle()
	r := f.audit(f.ts.URL)
	if len(r.Problems) != 0 || r.Size != 0 || r.Entries != 0 || r.CharterVersion != 0 {
		t.Fatalf("empty log: size %d, entries %d, charter %d, problems:%s", r.Size, r.Entries, r.CharterVersion, problems(r))
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// find returns the problems of a kind at an index (any index for -1)
// whose message holds every one of words.
func find(r *audit.Report, kind string, index int64, words ...string) []audit.Problem {
	var out []audit.Problem
next:
	for _, p := range r.Problems {
		if p.Kind != kind || (index >= 0 && p.Index != index) {
			continue
		}
		for _, w := range words {
			if !strings.Contains(p.Message, w) {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

// bundleEntry returns the offset and length of entry i in a bundle file.
func bundleEntry(t *testing.T, b []byte, i int) (off, n int) {
	t.Helper()
	for j := 0; ; j++ {
		if len(b) < off+2 {
			t.Fatalf("bundle has no entry %d", i)
		}
		n = int(b[off])<<8 | int(b[off+1])
		if j == i {
			return off + 2, n
		}
		off += 2 + n
	}
}

// flip changes one byte of a file in place.
func flip(t *testing.T, name string, at int) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x01
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedEntryBundle(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	size := f.settle()
	const victim = 5
	name := filepath.Join(f.dir, "log", "tile", "entries", "000.p", strconv.Itoa(int(size)))
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	off, n := bundleEntry(t, b, victim)
	flip(t, name, off+n/2)

	r := f.audit(f.ts.URL)
	got := find(r, audit.KindEntry, victim, "hashes to", "altered", "tile/entries/000.p/")
	if len(got) != 1 {
		t.Fatalf("want one entry problem at index %d, got:%s", victim, problems(r))
	}
	// Nothing else about the tree: the tiles are the log's.
	if tiles := find(r, audit.KindTile, -1); len(tiles) != 0 {
		t.Errorf("tile problems for an altered bundle:%s", problems(r))
	}
	t.Logf("found:%s", problems(r))
}

func TestTamperedTile(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	size := f.settle()
	const victim = 7
	flip(t, filepath.Join(f.dir, "log", "tile", "0", "000.p", strconv.Itoa(int(size))), victim*32+3)

	r := f.audit(f.ts.URL)
	got := find(r, audit.KindTile, victim, "tile/0/000.p/", "altered")
	if len(got) != 1 || len(r.Problems) != 1 {
		t.Fatalf("want exactly one tile problem at index %d, got:%s", victim, problems(r))
	}
	t.Logf("found:%s", problems(r))
}

func TestMissingFiles(t *testing.T) {
	t.Run("tile", func(t *testing.T) {
		f := newFixture(t)
		f.scenario()
		size := f.settle()
		if err := os.Remove(filepath.Join(f.dir, "log", "tile", "0", "000.p", strconv.Itoa(int(size)))); err != nil {
			t.Fatal(err)
		}
		r := f.audit(f.ts.URL)
		if len(r.Problems) != 1 || len(find(r, audit.KindTile, 0, "404", "hash to the checkpoint's root without it")) != 1 {
			t.Fatalf("want one problem about the missing tile, got:%s", problems(r))
		}
		t.Logf("found:%s", problems(r))
	})
	t.Run("bundle", func(t *testing.T) {
		f := newFixture(t)
		f.scenario()
		size := f.settle()
		if err := os.Remove(filepath.Join(f.dir, "log", "tile", "entries", "000.p", strconv.Itoa(int(size)))); err != nil {
			t.Fatal(err)
		}
		r := f.audit(f.ts.URL)
		if len(find(r, audit.KindEntry, 0, "404")) != 1 || len(find(r, audit.KindIncomplete, 0, "replay stops here")) != 1 || r.Entries != 0 {
			t.Fatalf("want problems about the missing bundle and the replay stopped, got %d entries and:%s", r.Entries, problems(r))
		}
		t.Logf("found:%s", problems(r))
	})
}

func TestCheckpointByAnotherKey(t *testing.T) {
	f := newFixture(t)
	f.post(f.envelope("", "tr-1", truce.TypeCharter, charter("72h"), charterSigners...))
	f.settle()

	// A server in the middle serves the log's checkpoint signed by a key
	// of the same name.
	skey, _, err := ledger.GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(f.info.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	mitm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/log/checkpoint" {
			f.srv.Handler().ServeHTTP(w, r)
			return
		}
		cp, err := f.srv.Ledger.Checkpoint(r.Context())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		n, err := note.Open(cp, note.VerifierList(v))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		forged, err := note.Sign(&note.Note{Text: n.Text}, other)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(forged)
	}))
	defer mitm.Close()

	r := f.audit(mitm.URL)
	if got := find(r, audit.KindCheckpoint, -1, "no signature by the log key"); len(got) != 1 || len(r.Problems) != 1 {
		t.Fatalf("want one checkpoint problem, got:%s", problems(r))
	}
	if r.Entries != 0 {
		t.Errorf("replayed %d entries of a log whose checkpoint does not verify", r.Entries)
	}
	t.Logf("found:%s", problems(r))

	// Auditing with a key the server does not use says so too.
	_, vkey, err := ledger.GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	r, err = audit.Run(context.Background(), audit.Config{Server: f.ts.URL, LogKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	if len(find(r, audit.KindCheckpoint, -1, "no signature by the log key")) != 1 || len(find(r, audit.KindLog, -1, "log key")) != 1 {
		t.Fatalf("auditing with another key:%s", problems(r))
	}
}

func TestLyingProjection(t *testing.T) {
	f := newFixture(t)
	at := f.scenario()
	f.settle()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.dir, "state.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A verdict turned, and a finding changed.
	if _, err := db.Exec(`UPDATE verdicts SET accepted = 0, reason = 'forged' WHERE idx = ?`, at["af-vote"]); err != nil {
		t.Fatal(err)
	}
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
	// And an action dropped from the list.
	if _, err := db.Exec(`DELETE FROM subjects WHERE id = 'act-1'`); err != nil {
		t.Fatal(err)
	}

	r := f.audit(f.ts.URL)
	if got := find(r, audit.KindVerdict, int64(at["af-vote"]), "server says rejected (forged), replay says accepted"); len(got) != 1 {
		t.Errorf("no problem about the turned verdict:%s", problems(r))
	}
	got := find(r, audit.KindIncident, -1, "question origin: server says decided AF at", "replay says decided PK at")
	if len(got) != 1 || got[0].Subject != "inc-1" {
		t.Errorf("no problem about the changed finding:%s", problems(r))
	}
	got = find(r, audit.KindAction, -1, "the server does not list it")
	if len(got) != 1 || got[0].Subject != "act-1" {
		t.Errorf("no problem about the dropped action:%s", problems(r))
	}
	if len(r.Problems) != 3 {
		t.Errorf("want 3 problems, got:%s", problems(r))
	}
	for _, p := range r.Problems {
		t.Logf("found: %s", p)
	}
}

func TestBadSignatureInLog(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	f.settle()

	// An envelope whose signature does not verify, logged behind the
	// server's back: the fold rejects it, on the server and in the replay.
	env := f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-4", "occurred", "yes", ""))
	env.Signatures[0].Sig[10] ^= 0x01
	entry, err := truce.MarshalEntry(time.UnixMilli(f.now.Load()), env)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.srv.Ledger.Add(context.Background(), entry)
	if err != nil {
		t.Fatal(err)
	}
	size := f.settle()

	r := f.audit(f.ts.URL)
	if len(r.Problems) != 0 {
		t.Fatalf("server and replay agree, but the audit found:%s", problems(r))
	}
	if r.Entries != size || r.Rejected != 1 || r.Accepted != size-1 {
		t.Errorf("entries %d, accepted %d, rejected %d; want %d, %d, 1", r.Entries, r.Accepted, r.Rejected, size, size-1)
	}
	if r.BadSignatures != 1 || r.Signatures != size-1+6 {
		t.Errorf("signatures %d good, %d bad; want %d, 1", r.Signatures, r.BadSignatures, size-1+6)
	}
}

// TestLogMovesDuringAudit audits a log whose checkpoint the server first
// gives is behind what its API has applied: the audit proves the next
// checkpoint consistent with the first, extends the replay to it, and
// compares there. The first checkpoint's partial tiles are gone by then
// (Tessera deletes them once the full ones are published), so they are
// read from the full ones.
func TestLogMovesDuringAudit(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	first := f.settle()
	old, err := f.srv.Ledger.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var envs []json.RawMessage
	for i := range 300 {
		b, _ := f.envelope("", []string{"tr-1", "qa-1"}[i%2], truce.TypeAssessment, vote("inc-4", "occurred", []string{"yes", "no"}[i/2%2], "")).MarshalJSON()
		envs = append(envs, b)
	}
	body, _ := json.Marshal(map[string]any{"envelopes": envs})
	resp, err := http.Post(f.ts.URL+"/v1/statements", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	size := f.settle()
	// Let Tessera's garbage collection remove the old partial tiles.
	partial := filepath.Join(f.dir, "log", "tile", "0", "000.p", strconv.Itoa(int(first)))
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(partial); os.IsNotExist(err) {
			break
		}
	}

	var served atomic.Bool
	lag := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/log/checkpoint" && !served.Swap(true) {
			w.Write(old)
			return
		}
		f.srv.Handler().ServeHTTP(w, r)
	}))
	defer lag.Close()
	var totals []uint64
	r, err := audit.Run(context.Background(), audit.Config{
		Server: lag.URL, LogKey: f.info.LogKey,
		Progress: func(done, total uint64) {
			if len(totals) == 0 || totals[len(totals)-1] != total {
				totals = append(totals, total)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 0 {
		t.Fatalf("audit of a moving log:%s", problems(r))
	}
	if r.Size != size || r.Entries != size || r.ServerApplied != size {
		t.Errorf("audited %d entries of a checkpoint of %d, the server had applied %d; want %d", r.Entries, r.Size, r.ServerApplied, size)
	}
	if !slices.Equal(totals, []uint64{first, size}) {
		t.Errorf("replayed up to %v, want %v", totals, []uint64{first, size})
	}
}

// TestStaleCheckpoint audits a server whose checkpoint stays behind its
// API: the audit cannot compare incidents and the rest, and says so.
func TestStaleCheckpoint(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	first := f.settle()
	old, err := f.srv.Ledger.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-4", "occurred", "yes", "")))
	f.settle()
	stale := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/log/checkpoint" {
			w.Write(old)
			return
		}
		f.srv.Handler().ServeHTTP(w, r)
	}))
	defer stale.Close()
	r, err := audit.Run(context.Background(), audit.Config{Server: stale.URL, LogKey: f.info.LogKey, SettleTries: 3, SettleWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 1 || len(find(r, audit.KindIncomplete, -1, "never stood at the audited log position", "audit again")) != 1 {
		t.Fatalf("want one problem saying the audit is incomplete, got:%s", problems(r))
	}
	if r.Size != first || r.Entries != first || r.ServerApplied != first+1 {
		t.Errorf("audited %d entries of a checkpoint of %d, the server had applied %d; want %d, %d, %d", r.Entries, r.Size, r.ServerApplied, first, first, first+1)
	}
	t.Logf("found:%s", problems(r))
}

// TestRetries audits through a proxy that fails the first request for
// every path, and drops the connection of the second for tiles: the audit
// retries, and finds nothing wrong.
func TestRetries(t *testing.T) {
	f := newFixture(t)
	f.scenario()
	f.settle()
	var mu sync.Mutex
	seen := map[string]int{}
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.String()]++
		n := seen[r.URL.String()]
		mu.Unlock()
		switch {
		case n == 1:
			http.Error(w, "try again", http.StatusServiceUnavailable)
		case n == 2 && strings.HasPrefix(r.URL.Path, "/log/tile/"):
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			f.srv.Handler().ServeHTTP(w, r)
		}
	}))
	defer flaky.Close()
	r := f.audit(flaky.URL)
	if len(r.Problems) != 0 {
		t.Fatalf("audit through a flaky proxy:%s", problems(r))
	}
	if r.Entries == 0 {
		t.Error("nothing audited")
	}
}

func TestServerUnreachable(t *testing.T) {
	_, vkey, err := ledger.GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := audit.Run(ctx, audit.Config{Server: url, LogKey: vkey}); err == nil {
		t.Error("audit of a closed server succeeded")
	}
	if _, err := audit.Run(ctx, audit.Config{Server: url, LogKey: "not a key"}); !errors.Is(err, audit.ErrLogKey) {
		t.Errorf("audit with a bad key: got %v, want ErrLogKey", err)
	}
}

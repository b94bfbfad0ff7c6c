package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/witness"
)

// liveWitness is a real witness (internal/witness) served on a fixed
// loopback address, so that it can be stopped and started again where
// the charter says it is.
type liveWitness struct {
	t     *testing.T
	dir   string
	addr  string
	logs  map[string]string
	entry truce.Witness
	w     *witness.Witness
	srv   *http.Server
}

func startWitness(t *testing.T, name string, logs map[string]string) *liveWitness {
	t.Helper()
	lw := &liveWitness{t: t, dir: t.TempDir(), logs: logs}
	skey, err := witness.CreateKey(lw.dir, "witness.example/"+name)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := witness.VerifierKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lw.addr = ln.Addr().String()
	lw.entry = truce.Witness{Name: name, Key: vkey, URL: "http://" + lw.addr + "/"}
	lw.serve(ln)
	t.Cleanup(lw.stop)
	return lw
}

func (lw *liveWitness) serve(ln net.Listener) {
	skey, err := witness.ReadKey(lw.dir)
	if err != nil {
		lw.t.Fatal(err)
	}
	signer, err := witness.NewSigner(skey)
	if err != nil {
		lw.t.Fatal(err)
	}
	lw.w, err = witness.Open(context.Background(), witness.Config{Dir: lw.dir, Signer: signer, Logs: lw.logs})
	if err != nil {
		lw.t.Fatal(err)
	}
	lw.srv = &http.Server{Handler: lw.w.Handler()}
	go lw.srv.Serve(ln)
}

func (lw *liveWitness) stop() {
	if lw.srv == nil {
		return
	}
	lw.srv.Close()
	lw.w.Close()
	lw.srv = nil
}

func (lw *liveWitness) restart() {
	ln, err := net.Listen("tcp", lw.addr)
	if err != nil {
		lw.t.Fatalf("cannot listen at the witness's address again: %v", err)
	}
	lw.serve(ln)
}

// logInfo is GET /v1/log.
func (f *fixture) logInfo() LogState {
	f.t.Helper()
	resp, err := http.Get(f.ts.URL + "/v1/log")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var info LogState
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		f.t.Fatal(err)
	}
	return info
}

// LogState is what the test reads of GET /v1/log.
type LogState struct {
	Size          uint64 `json:"size"`
	Sequenced     uint64 `json:"sequenced"`
	WitnessPolicy string `json:"witness_policy"`
	Witnessed     bool   `json:"witnessed"`
	Witnesses     []struct {
		Name     string     `json:"name"`
		Cosigned *time.Time `json:"cosigned"`
	} `json:"witnesses"`
}

func (f *fixture) waitLog(what string, ok func(LogState) bool) LogState {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info := f.logInfo()
		if ok(info) {
			return info
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("waited 10s for %s; /v1/log says %+v", what, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWitnessedPublication runs a mechanism whose charter names two real
// witnesses and needs both: a checkpoint is published only with both
// cosignatures; a lost witness stalls publication but not appends; once it
// is back, with its state kept, publication catches up.
func TestWitnessedPublication(t *testing.T) {
	dir := t.TempDir()
	info, err := Init(dir, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	logs := map[string]string{info.Origin: info.LogKey}
	af, pk := startWitness(t, "af-w", logs), startWitness(t, "pk-w", logs)

	f := &fixture{t: t, dir: dir, now: time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC)}
	srv, err := Open(context.Background(), Config{Dir: dir, Now: func() time.Time { return f.now }, BatchMaxAge: 5 * time.Millisecond,
		CheckpointInterval: 100 * time.Millisecond, WitnessTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(f.close)

	ch := charter()
	ch.Witnesses = []truce.Witness{af.entry, pk.entry}
	ch.WitnessPolicy = json.RawMessage(`{"all": ["af-w", "pk-w"]}`)
	f.post(http.StatusCreated, f.envelope("tr-1", truce.TypeCharter, ch, "af-1", "pk-1", "qa-1"))

	got := f.waitLog("a checkpoint with the charter", func(l LogState) bool { return l.Size == 1 })
	if !got.Witnessed || got.WitnessPolicy != "all of (af-w, pk-w)" || len(got.Witnesses) != 2 || got.Witnesses[0].Cosigned == nil || got.Witnesses[1].Cosigned == nil {
		t.Fatalf("the first checkpoint after the charter: %+v, want both witnesses' cosignatures", got)
	}
	cp, err := os.ReadFile(filepath.Join(dir, "log", "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	logKey, _ := note.NewVerifier(info.LogKey)
	policy, _ := truce.NewWitnessPolicy(ch.Witnesses, ch.WitnessPolicy)
	if c, err := truce.OpenCheckpoint(cp, logKey, policy); err != nil || !c.Witnessed || c.Size != 1 {
		t.Fatalf("the served checkpoint %q: %v, %+v; want it witnessed at size 1", cp, err, c)
	}

	// Pakistan's witness goes away: statements are still accepted at
	// once, but no checkpoint covers them.
	pk.stop()
	f.now = f.now.Add(time.Minute)
	start := time.Now()
	f.post(http.StatusCreated, f.envelope("af-1", truce.TypeIncident, incident()))
	f.post(http.StatusCreated, f.envelope("af-1", truce.TypeIncident, incident()))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("two statements took %v with a witness down", d)
	}
	time.Sleep(1500 * time.Millisecond) // several checkpoint intervals
	if l := f.logInfo(); l.Size != 1 || l.Sequenced != 3 || !l.Witnessed {
		t.Fatalf("with a witness down: %+v, want size 1 (the last witnessed checkpoint) of 3 sequenced", l)
	}

	// It comes back with its state: publication catches up, with both
	// cosignatures again.
	pk.restart()
	got = f.waitLog("a checkpoint of all 3 entries", func(l LogState) bool { return l.Size == 3 })
	if !got.Witnessed || got.Witnesses[1].Cosigned == nil {
		t.Fatalf("after the witness came back: %+v", got)
	}
	wcp, err := pk.w.Checkpoint(info.Origin)
	if err != nil || !strings.HasPrefix(string(wcp), info.Origin+"\n3\n") {
		t.Fatalf("the witness's own latest checkpoint: %q, %v; want size 3", wcp, err)
	}
}

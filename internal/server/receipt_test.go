package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce"
)

// getReceipt is GET /v1/statements/{index}/receipt: the status, the body
// and the Retry-After header.
func (f *fixture) getReceipt(index string) (int, []byte, string) {
	f.t.Helper()
	resp, err := http.Get(f.ts.URL + "/v1/statements/" + index + "/receipt")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header.Get("Retry-After")
}

// TestWitnessedReceipts runs a mechanism whose charter needs both of two
// real witnesses: a receipt carries their cosignatures and verifies
// against the policy; while a witness is away, a new statement has no
// receipt yet, and the server says why; once it is back, it has one.
func TestWitnessedReceipts(t *testing.T) {
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
	f.waitLog("a checkpoint with the charter", func(l LogState) bool { return l.Size == 1 })

	logKey, err := note.NewVerifier(info.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	policy, err := truce.NewWitnessPolicy(ch.Witnesses, ch.WitnessPolicy)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(index string) *truce.VerifiedReceipt {
		t.Helper()
		code, body, _ := f.getReceipt(index)
		if code != http.StatusOK {
			t.Fatalf("GET receipt %s: %d %s", index, code, body)
		}
		r, err := truce.ParseReceipt(body)
		if err != nil {
			t.Fatal(err)
		}
		v, err := r.Verify(logKey, policy, ch.Members)
		if err != nil {
			t.Fatalf("receipt %s: %v", index, err)
		}
		if got := strings.Join(v.Checkpoint.Cosigned(), " "); got != "af-w pk-w" || v.AuthorKey == "" {
			t.Errorf("receipt %s: cosigned by %q, author key %q; want af-w pk-w, and the author's signature", index, got, v.AuthorKey)
		}
		return v
	}
	if v := verify("0"); v.Entry.Statement.Type != truce.TypeCharter {
		t.Errorf("receipt 0 proves a %s, want the charter", v.Entry.Statement.Type)
	}

	// Without Pakistan's witness, the incident is logged but not published.
	pk.stop()
	f.now = f.now.Add(time.Minute)
	f.post(http.StatusCreated, f.envelope("af-1", truce.TypeIncident, incident()))
	time.Sleep(500 * time.Millisecond) // several checkpoint intervals
	code, body, retry := f.getReceipt("1")
	var e struct{ Error struct{ Message string } }
	json.Unmarshal(body, &e)
	if code != http.StatusServiceUnavailable || retry == "" ||
		!strings.Contains(e.Error.Message, "statement 1 is logged, but not yet in a published checkpoint: a new checkpoint is published only once the witnesses have cosigned it as the charter's policy asks (all of (af-w, pk-w)), and they have not yet") {
		t.Errorf("receipt 1 with a witness down: %d, Retry-After %q, %s; want 503 saying the witnesses have not cosigned", code, retry, body)
	}
	// A receipt proven at the older checkpoint does not prove the new
	// entry: its index is beyond that tree.
	if code, body, _ := f.getReceipt("0"); code == http.StatusOK {
		r, _ := truce.ParseReceipt(body)
		r.Index = 1
		if _, err := r.Verify(logKey, policy, nil); !errors.Is(err, truce.ErrNotIncluded) {
			t.Errorf("receipt 0 relabelled as 1: %v, want ErrNotIncluded", err)
		}
	}

	pk.restart()
	f.waitLog("a checkpoint of both entries", func(l LogState) bool { return l.Size == 2 })
	if v := verify("1"); v.Entry.Statement.Author != "af-1" || v.Checkpoint.Size != 2 {
		t.Errorf("receipt 1: %s by %s at size %d", v.Entry.Statement.Type, v.Entry.Statement.Author, v.Checkpoint.Size)
	}
}

package api_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strconv"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce"
)

func TestReceipt(t *testing.T) {
	f := newFixture(t)
	f.post("tr-1", truce.TypeCharter, charter(), charterCosigners...)
	id := f.post("af-1", truce.TypeIncident, incident(torkham, "2025-11-01", "Battles", "Armed clash", "PK", "AF"))
	if _, err := f.srv.Ledger.WaitPublished(context.Background(), 2); err != nil {
		t.Fatal(err)
	}

	r := f.do("GET", "/v1/statements/1/receipt", nil)
	if r.code != http.StatusOK {
		t.Fatalf("GET /v1/statements/1/receipt: %d %s", r.code, r.body)
	}
	for k, want := range map[string]string{
		"Content-Type":        "text/plain; charset=utf-8",
		"Content-Disposition": `attachment; filename="receipt-1.tlog-proof"`,
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	rc, err := truce.ParseReceipt(r.body)
	if err != nil {
		t.Fatal(err)
	}
	logKey, err := note.NewVerifier(f.srv.Info.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	policy, err := truce.NewWitnessPolicy(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := rc.Verify(logKey, policy, charter().Members)
	if err != nil {
		t.Fatal(err)
	}
	if v.Index != 1 || v.Entry.Statement.ID != id || v.Entry.Statement.Author != "af-1" || v.AuthorKey == "" || v.Checkpoint.Size < 2 {
		t.Errorf("receipt proves %s by %s at %d (author key %q, size %d); want %s by af-1 at 1, signed, size 2",
			v.Entry.Statement.ID, v.Entry.Statement.Author, v.Index, v.AuthorKey, v.Checkpoint.Size, id)
	}
	// The entry is the one the API shows.
	if entries, err := f.srv.Ledger.Entries(context.Background(), 1, 2); err != nil || string(entries[0]) != string(rc.Entry) {
		t.Errorf("receipt entry %.60q, want the log's %v", rc.Entry, err)
	}

	f.getError("/v1/statements/2/receipt", http.StatusNotFound, "no statement at log index 2")
	f.getError("/v1/statements/x/receipt", http.StatusBadRequest, `"x" is not a log index`)

	// A statement just logged is not in a published checkpoint yet (one is
	// published about once a second): 503, with Retry-After and why. Should
	// a publication fall between the two requests, the next statement
	// shows it.
	for i := 0; ; i++ {
		index := f.submit(f.seal(f.statement("pk-1", truce.TypeReply), &truce.Reply{Subject: id, Text: "Not us."}))
		r := f.do("GET", "/v1/statements/"+strconv.FormatUint(index, 10)+"/receipt", nil)
		if r.code == http.StatusOK && i < 3 {
			continue
		}
		f.wantError(r, "GET a receipt just after POST", http.StatusServiceUnavailable, "is logged, but not yet in a published checkpoint: the log publishes a new checkpoint within seconds")
		if got := r.header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After: %q, want 2", got)
		}
		break
	}

	// Receipts are checked against the log's key: another key fails.
	_, other, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := note.NewVerifier(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Verify(otherKey, policy, nil); !errors.Is(err, truce.ErrCheckpoint) {
		t.Errorf("verified with another log's key: %v, want ErrCheckpoint", err)
	}
}

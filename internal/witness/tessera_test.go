package witness

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	f_note "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

// swappable serves whatever handler it holds, or 503 while it holds none:
// a witness that is down while it restarts, at an address that stays.
type swappable struct{ h atomic.Pointer[http.Handler] }

func (s *swappable) set(h http.Handler) { s.h.Store(&h) }
func (s *swappable) down()              { s.h.Store(nil) }

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := s.h.Load()
	if h == nil {
		http.Error(w, "restarting", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// TestTessera has Tessera itself, appending to a POSIX log, publish every
// checkpoint through the witness, across a restart of the witness on the
// same folder; every published checkpoint carries a valid cosignature.
func TestTessera(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const origin = "log.test/tessera"
	skey, vkey, err := note.GenerateKey(nil, origin)
	if err != nil {
		t.Fatal(err)
	}
	logSigner, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	wkey, err := GenerateKey("witness.test/w1")
	if err != nil {
		t.Fatal(err)
	}
	wvkey, err := VerifierKey(wkey)
	if err != nil {
		t.Fatal(err)
	}
	wdir := t.TempDir()
	open := func() *Witness {
		t.Helper()
		signer, err := NewSigner(wkey)
		if err != nil {
			t.Fatal(err)
		}
		w, err := Open(ctx, Config{Dir: wdir, Signer: signer, VerifierKey: wvkey, Logs: map[string]string{origin: vkey}})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := open()
	var front swappable
	front.set(w.Handler())
	srv := httptest.NewServer(&front)
	defer srv.Close()

	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tw, err := tessera.NewWitness(wvkey, u)
	if err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	driver, err := posix.New(ctx, posix.Config{Path: logDir})
	if err != nil {
		t.Fatal(err)
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(logSigner).
		WithCheckpointInterval(100*time.Millisecond).
		WithBatching(64, 10*time.Millisecond).
		WithWitnesses(tessera.NewWitnessGroup(1, tw), &tessera.WitnessOptions{})
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	awaiter := tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 20*time.Millisecond)

	logV, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	witnessV, err := f_note.NewVerifierForCosignatureV1(wvkey)
	if err != nil {
		t.Fatal(err)
	}
	// appendAndCheck adds n entries, waits for a checkpoint covering them,
	// and checks the published checkpoint file and the witness's state.
	next := 0
	appendAndCheck := func(w *Witness, n int) {
		t.Helper()
		var last tessera.IndexFuture
		for range n {
			last = appender.Add(ctx, tessera.NewEntry(fmt.Appendf(nil, "entry %d", next)))
			next++
		}
		actx, acancel := context.WithTimeout(ctx, 30*time.Second)
		defer acancel()
		if _, _, err := awaiter.Await(actx, last); err != nil {
			t.Fatalf("no checkpoint covers entry %d: %v", next-1, err)
		}
		published, err := os.ReadFile(filepath.Join(logDir, "checkpoint"))
		if err != nil {
			t.Fatal(err)
		}
		nt, err := note.Open(published, note.VerifierList(logV, witnessV))
		if err != nil {
			t.Fatalf("published checkpoint does not verify: %v\n%s", err, published)
		}
		var cosigned bool
		for _, s := range nt.Sigs {
			if s.Name == "witness.test/w1" && s.Hash == witnessV.KeyHash() {
				cosigned = true
			}
		}
		if !cosigned {
			t.Fatalf("published checkpoint has no cosignature by the witness:\n%s", published)
		}
		cp, err := parseCheckpoint(nt.Text)
		if err != nil {
			t.Fatal(err)
		}
		if cp.size < uint64(next) {
			t.Fatalf("published size %d, want at least %d", cp.size, next)
		}
		held, err := w.Checkpoint(origin)
		if err != nil {
			t.Fatal(err)
		}
		hn, err := note.Open(held, note.VerifierList(logV, witnessV))
		if err != nil {
			t.Fatal(err)
		}
		if hc, _ := parseCheckpoint(hn.Text); hc.size < cp.size {
			t.Fatalf("witness holds size %d, behind the published %d", hc.size, cp.size)
		}
	}

	appendAndCheck(w, 10)
	appendAndCheck(w, 100)

	// Restart the witness on its folder: it keeps its state, and Tessera
	// carries on publishing through it.
	front.down()
	before, err := w.Checkpoint(origin)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = open()
	after, err := w.Checkpoint(origin)
	if err != nil || !bytes.Equal(after, before) {
		t.Fatalf("after the restart the witness holds %q, %v; want %q", after, err, before)
	}
	front.set(w.Handler())
	appendAndCheck(w, 10)
	appendAndCheck(w, 300)
	if names, _ := filepath.Glob(filepath.Join(wdir, conflictsDir, "*")); len(names) != 0 {
		t.Errorf("got evidence %q from Tessera, an honest log", names)
	}

	// A witness that knows nothing of the log (a new folder) answers
	// Tessera's old size with 409 and its size, 0; Tessera retries from 0.
	front.down()
	w.Close()
	wdir = t.TempDir()
	w = open()
	defer w.Close()
	front.set(w.Handler())
	appendAndCheck(w, 10)

	if names, _ := filepath.Glob(filepath.Join(wdir, conflictsDir, "*")); len(names) != 0 {
		t.Errorf("got evidence %q from Tessera, an honest log", names)
	}
}

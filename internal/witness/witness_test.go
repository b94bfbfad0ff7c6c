package witness

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// wantCosigned checks a 200 answer: only signature lines, the witness's
// cosignature among them, valid on the checkpoint.
func wantCosigned(t *testing.T, tw *testWitness, l *testLog, r response, cp []byte) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("got status %d (%q), want 200", r.status, r.body)
	}
	if !strings.HasPrefix(r.body, "— ") || !strings.HasSuffix(r.body, "\n") || strings.Count(r.body, "\n") != 1 {
		t.Fatalf("got body %q, want one signature line", r.body)
	}
	_, wv := tw.verifiers(t, l)
	n, err := note.Open(append(bytes.Clone(cp), r.body...), note.VerifierList(wv))
	if err != nil {
		t.Fatalf("cosignature does not verify: %v", err)
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != "witness.test/w1" {
		t.Fatalf("got signatures %+v, want the witness's", n.Sigs)
	}
	if _, err := f_note.CoSigV1Timestamp(n.Sigs[0]); err != nil {
		t.Fatalf("cosignature has no timestamp: %v", err)
	}
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got status %d (%q), want %d", r.status, r.body, status)
	}
}

// wantSize checks the 409 answer that tells the client the latest
// cosigned size.
func wantSize(t *testing.T, r response, size int) {
	t.Helper()
	wantStatus(t, r, http.StatusConflict)
	if len(r.contentType) != 1 || r.contentType[0] != "text/x.tlog.size" {
		t.Errorf("got Content-Type %q, want exactly text/x.tlog.size", r.contentType)
	}
	if want := fmt.Sprintf("%d\n", size); r.body != want {
		t.Errorf("got body %q, want %q", r.body, want)
	}
}

// wantHeld checks the size of the latest checkpoint the witness cosigned.
func wantHeld(t *testing.T, tw *testWitness, l *testLog, size int64) {
	t.Helper()
	cp, err := tw.Checkpoint(l.origin)
	if err != nil {
		t.Fatal(err)
	}
	lv, wv := tw.verifiers(t, l)
	n, err := note.Open(cp, note.VerifierList(lv, wv))
	if err != nil {
		t.Fatalf("held checkpoint does not verify: %v", err)
	}
	if len(n.Sigs) != 2 {
		t.Errorf("got %d verified signatures on the held checkpoint, want the log's and the witness's", len(n.Sigs))
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		t.Fatal(err)
	}
	if c.size != uint64(size) || c.root != l.root(size) {
		t.Fatalf("witness holds size %d, want %d", c.size, size)
	}
}

func TestFirstCheckpoint(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	if _, err := tw.Checkpoint(l.origin); !errors.Is(err, ErrNotCosigned) {
		t.Fatalf("got %v before any checkpoint, want ErrNotCosigned", err)
	}
	wantStatus(t, tw.get(t, "/checkpoint?origin=log.test/a"), http.StatusNotFound)

	cp := l.checkpoint(3)
	wantCosigned(t, tw, l, tw.post(t, requestBody(0, nil, cp)), cp)
	wantHeld(t, tw, l, 3)

	r := tw.get(t, "/checkpoint?origin=log.test/a")
	wantStatus(t, r, http.StatusOK)
	if !strings.HasPrefix(r.body, string(cp)) {
		t.Errorf("GET /checkpoint gave %q, want the log's checkpoint %q and the cosignature", r.body, cp)
	}
}

func TestEmptyTree(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	cp := l.checkpoint(0)
	wantCosigned(t, tw, l, tw.post(t, requestBody(0, nil, cp)), cp)
	wantHeld(t, tw, l, 0)
	// A size-0 checkpoint whose root is not the empty tree's.
	root := l.root(3)
	text := fmt.Sprintf("%s\n0\n%s\n", l.origin, base64.StdEncoding.EncodeToString(root[:]))
	signed, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, tw.post(t, requestBody(0, nil, signed)), http.StatusConflict) // same size, another root
	fresh := newTestWitness(t, l)
	wantStatus(t, fresh.post(t, requestBody(0, nil, signed)), http.StatusUnprocessableEntity)
}

func TestGrowth(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	sizes := []int64{1, 2, 3, 7, 8, 64, 65, 100, 1000}
	old := int64(0)
	for _, size := range sizes {
		cp := l.checkpoint(size)
		wantCosigned(t, tw, l, tw.post(t, requestBody(uint64(old), l.proof(old, size), cp)), cp)
		wantHeld(t, tw, l, size)
		old = size
	}
	// The same checkpoint again, as a log republishing, is cosigned again.
	cp := l.checkpoint(old)
	wantCosigned(t, tw, l, tw.post(t, requestBody(uint64(old), nil, cp)), cp)
	wantNoEvidence(t, tw, "from an honest log")
}

// TestConflictRecovery is the flow of a client that does not know the
// witness's state: old 0, 409 with the size, retry with a proof.
func TestConflictRecovery(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	wantStatus(t, tw.post(t, l.request(0, 5)), http.StatusOK)

	wantSize(t, tw.post(t, l.request(0, 12)), 5)
	wantSize(t, tw.post(t, l.request(3, 12)), 5)
	wantSize(t, tw.post(t, l.request(6, 12)), 5)
	wantHeld(t, tw, l, 5)
	cp := l.checkpoint(12)
	wantCosigned(t, tw, l, tw.post(t, requestBody(5, l.proof(5, 12), cp)), cp)
	wantHeld(t, tw, l, 12)
	wantNoEvidence(t, tw, "from an honest log")
}

// wantNoEvidence checks that the witness kept no evidence, of what why
// says.
func wantNoEvidence(t *testing.T, tw *testWitness, why string) {
	t.Helper()
	if got := tw.conflicts(t); len(got) != 0 {
		t.Errorf("got evidence %q %s", got, why)
	}
}

// wantEvidence checks that there is exactly one evidence file, of kind,
// holding both checkpoints, and returns its text.
func wantEvidence(t *testing.T, tw *testWitness, kind string, held, offered []byte) string {
	t.Helper()
	names := tw.conflicts(t)
	if len(names) != 1 {
		t.Fatalf("got evidence files %q, want one", names)
	}
	if !strings.HasSuffix(names[0], "-log.test%2Fa-"+kind+".txt") {
		t.Errorf("got evidence file %s, want one named by time, origin and %s", names[0], kind)
	}
	text := readFile(t, names[0])
	if !strings.HasPrefix(text, "truce witness evidence: "+kind+"\n") {
		t.Errorf("evidence starts %q, want its kind %s", text[:min(len(text), 60)], kind)
	}
	if !strings.Contains(text, string(held)) {
		t.Errorf("evidence lacks the held checkpoint %q:\n%s", held, text)
	}
	if !strings.Contains(text, string(offered)) {
		t.Errorf("evidence lacks the offered request %q:\n%s", offered, text)
	}
	return text
}

// TestRollback replays a log's old checkpoints, as anyone can: every one
// is public and validly signed. Each is refused with the held size, and
// none is kept as evidence, whatever old size or proof lines come with it:
// an old genuine checkpoint proves nothing, and keeping one file per
// request would let anyone fill the witness's folder.
func TestRollback(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	wantStatus(t, tw.post(t, l.request(0, 12)), http.StatusOK)
	for old := range int64(6) {
		wantSize(t, tw.post(t, l.request(old, 5)), 12)
		wantSize(t, tw.post(t, requestBody(uint64(old), l.proof(4, 11), l.checkpoint(11))), 12)
	}
	wantHeld(t, tw, l, 12)
	wantNoEvidence(t, tw, "of old checkpoints, want none")
}

func TestForkAtSameSize(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	wantStatus(t, tw.post(t, l.request(0, 5)), http.StatusOK)
	held, _ := tw.Checkpoint(l.origin)

	f := l.fork()
	body := f.request(5, 5)
	r := tw.post(t, body)
	wantStatus(t, r, http.StatusConflict)
	if len(r.contentType) == 1 && r.contentType[0] == "text/x.tlog.size" {
		t.Errorf("got Content-Type text/x.tlog.size for a root mismatch, which Tessera would read as a size")
	}
	wantHeld(t, tw, l, 5)
	wantEvidence(t, tw, KindFork, held, body)

	// The same fork again keeps no second file; evidence is never replaced.
	before := readFile(t, tw.conflicts(t)[0])
	wantStatus(t, tw.post(t, body), http.StatusConflict)
	if got := wantEvidence(t, tw, KindFork, held, body); got != before {
		t.Errorf("evidence changed")
	}
	// The honest log carries on.
	wantStatus(t, tw.post(t, l.request(5, 9)), http.StatusOK)
}

// TestEvidenceOncePerCheckpoint offers one forked checkpoint again and
// again in requests that differ: in old size, in proof lines, and in
// signatures by keys the witness does not know. Evidence is told apart by
// the offered checkpoint's text, so it is one file, holding the first
// request.
func TestEvidenceOncePerCheckpoint(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	wantStatus(t, tw.post(t, l.request(0, 5)), http.StatusOK)
	held, _ := tw.Checkpoint(l.origin)

	f := l.fork()
	first := f.request(5, 5)
	wantStatus(t, tw.post(t, first), http.StatusConflict)
	fcp := f.checkpoint(5)
	for old := range uint64(5) {
		wantSize(t, tw.post(t, requestBody(old, f.proof(int64(old), 5), fcp)), 5)
	}
	for i := range 5 {
		other := newTestLog(t, fmt.Sprintf("other.test/%d", i))
		n, err := note.Open(fcp, note.VerifierList(mustVerifier(t, f.vkey)))
		if err != nil {
			t.Fatal(err)
		}
		resigned, err := note.Sign(n, other.signer)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, tw.post(t, requestBody(5, nil, resigned)), http.StatusConflict)
	}
	// An inconsistent proof to a larger forked checkpoint is a checkpoint
	// of its own, offered twice with different wrong proofs.
	fcp12 := f.checkpoint(12)
	wantStatus(t, tw.post(t, requestBody(5, f.proof(5, 12), fcp12)), http.StatusUnprocessableEntity)
	wantStatus(t, tw.post(t, requestBody(5, f.proof(4, 12), fcp12)), http.StatusUnprocessableEntity)

	names := tw.conflicts(t)
	if len(names) != 2 {
		t.Fatalf("got evidence files %q, want one for each of the 2 checkpoints offered", names)
	}
	kinds := map[string]int{}
	for _, name := range names {
		text := readFile(t, name)
		kind, _, _ := strings.Cut(strings.TrimPrefix(text, "truce witness evidence: "), "\n")
		kinds[kind]++
		if !strings.Contains(text, string(held)) {
			t.Errorf("evidence %s lacks the held checkpoint:\n%s", name, text)
		}
		if kind == KindFork && !strings.Contains(text, string(first)) {
			t.Errorf("fork evidence %s lacks the first request:\n%s", name, text)
		}
	}
	if kinds[KindFork] != 1 || kinds[KindInconsistent] != 1 {
		t.Errorf("got evidence of kinds %v, want one fork and one inconsistent", kinds)
	}
}

// TestEvidenceCap offers more forks than the witness keeps evidence of:
// past MaxEvidence files for the log, refusals are logged, once at warning
// level, and not kept, also after a restart; the log's own checkpoints are
// cosigned all along.
func TestEvidenceCap(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	var logs bytes.Buffer
	var mu sync.Mutex
	tw := newTestWitnessWith(t, &testWitness{
		maxEvidence: 2,
		logger:      slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)),
	}, l)
	wantStatus(t, tw.post(t, l.request(0, 5)), http.StatusOK)
	fork := func(i int) []byte {
		return newTestLogWithKey(t, l.skey, l.vkey, fmt.Sprintf("fork %d", i)).request(5, 5)
	}
	for i := range 4 {
		wantStatus(t, tw.post(t, fork(i)), http.StatusConflict)
	}
	if got := len(tw.conflicts(t)); got != 2 {
		t.Fatalf("got %d evidence files, want MaxEvidence, 2", got)
	}
	mu.Lock()
	warned := strings.Count(logs.String(), "level=WARN msg=\"refused an inconsistent checkpoint but keeps no more evidence")
	mu.Unlock()
	if warned != 1 {
		t.Errorf("got %d warnings that evidence is dropped, want 1:\n%s", warned, logs.String())
	}
	wantStatus(t, tw.post(t, l.request(5, 9)), http.StatusOK)

	tw.close()
	tw.open(t)
	wantStatus(t, tw.post(t, newTestLogWithKey(t, l.skey, l.vkey, "fork after").request(9, 9)), http.StatusConflict)
	if got := len(tw.conflicts(t)); got != 2 {
		t.Errorf("got %d evidence files after a restart, want still 2", got)
	}
	wantStatus(t, tw.post(t, l.request(9, 12)), http.StatusOK)
}

// lockedWriter is an io.Writer that the witness's handlers may share with
// the test.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestInconsistentProof(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	wantStatus(t, tw.post(t, l.request(0, 5)), http.StatusOK)
	held, _ := tw.Checkpoint(l.origin)

	// The forked log's own proof, from its size 5, does not lead from the
	// witness's size 5.
	f := l.fork()
	body := f.request(5, 12)
	wantStatus(t, tw.post(t, body), http.StatusUnprocessableEntity)
	wantHeld(t, tw, l, 5)
	wantEvidence(t, tw, KindInconsistent, held, body)

	// An honest checkpoint with a wrong proof, an empty proof, or a proof
	// from size 0 is refused too.
	cp := l.checkpoint(12)
	for name, body := range map[string][]byte{
		"wrong proof":  requestBody(5, l.proof(4, 12), cp),
		"short proof":  requestBody(5, l.proof(5, 12)[1:], cp),
		"empty proof":  requestBody(5, nil, cp),
		"same size":    requestBody(5, l.proof(4, 5), l.checkpoint(5)),
		"proof from 0": requestBody(0, l.proof(5, 12), cp),
	} {
		t.Run(name, func(t *testing.T) {
			w := tw
			if name == "proof from 0" {
				w = newTestWitness(t, l)
			}
			wantStatus(t, w.post(t, body), http.StatusUnprocessableEntity)
		})
	}
	wantHeld(t, tw, l, 5)
}

func TestBadSignature(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	// Another key with the log's name.
	impostor := newTestLog(t, "log.test/a")
	wantStatus(t, tw.post(t, impostor.request(0, 5)), http.StatusForbidden)
	// The log's key over other text: a signature that does not verify.
	cp := l.checkpoint(5)
	forged := bytes.Replace(cp, []byte("\n5\n"), []byte("\n6\n"), 1)
	wantStatus(t, tw.post(t, requestBody(0, nil, forged)), http.StatusForbidden)
	if _, err := tw.Checkpoint(l.origin); !errors.Is(err, ErrNotCosigned) {
		t.Errorf("got %v, want nothing cosigned", err)
	}
	wantNoEvidence(t, tw, "for checkpoints the log did not sign")
}

func TestUnknownSignaturesIgnored(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	other := newTestLog(t, "someone.test/else")
	cp := l.checkpoint(5)
	n, err := note.Open(cp, note.VerifierList(mustVerifier(t, l.vkey)))
	if err != nil {
		t.Fatal(err)
	}
	both, err := note.Sign(&note.Note{Text: n.Text, Sigs: n.Sigs}, other.signer)
	if err != nil {
		t.Fatal(err)
	}
	wantCosigned(t, tw, l, tw.post(t, requestBody(0, nil, both)), both)
	held, _ := tw.Checkpoint(l.origin)
	if bytes.Contains(held, []byte("someone.test/else")) {
		t.Errorf("held checkpoint keeps an unknown signature:\n%s", held)
	}
}

func mustVerifier(t *testing.T, vkey string) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUnknownOrigin(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	other := newTestLog(t, "log.test/b")
	wantStatus(t, tw.post(t, other.request(0, 5)), http.StatusNotFound)
	wantStatus(t, tw.get(t, "/checkpoint?origin=log.test/b"), http.StatusNotFound)
}

func TestMalformed(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	cp := l.checkpoint(5)
	proof := l.proof(4, 5)
	var tooMany []byte
	tooMany = append(tooMany, "old 4\n"...)
	for range MaxProofLines + 1 {
		tooMany = append(tooMany, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"...)
	}
	tooMany = append(append(tooMany, '\n'), cp...)
	badText, _ := note.Sign(&note.Note{Text: "log.test/a\n05\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"}, l.signer)
	shortText, _ := note.Sign(&note.Note{Text: "log.test/a\n5\n"}, l.signer)
	for _, tt := range []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"no old line", cp},
		{"old with leading zero", bytes.Replace(requestBody(4, proof, cp), []byte("old 4"), []byte("old 04"), 1)},
		{"old negative", bytes.Replace(requestBody(4, proof, cp), []byte("old 4"), []byte("old -4"), 1)},
		{"old two spaces", bytes.Replace(requestBody(4, proof, cp), []byte("old 4"), []byte("old  4"), 1)},
		{"old over 2^63", bytes.Replace(requestBody(4, proof, cp), []byte("old 4"), []byte("old 9223372036854775808"), 1)},
		{"old over size", requestBody(6, nil, cp)},
		{"proof not base64", bytes.Replace(requestBody(4, proof, cp), []byte("old 4\n"), []byte("old 4\nnot base64!\n"), 1)},
		{"proof line short", bytes.Replace(requestBody(4, proof, cp), []byte("old 4\n"), []byte("old 4\nAAAA\n"), 1)},
		{"proof line unpadded", bytes.Replace(requestBody(4, proof, cp), []byte("old 4\n"), []byte("old 4\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFUA\n"), 1)},
		{"64 proof lines", tooMany},
		{"no empty line", []byte("old 0\n")},
		{"no checkpoint", []byte("old 0\n\n")},
		{"checkpoint not a note", []byte("old 0\n\nlog.test/a\n5\n")},
		{"size with leading zero", requestBody(0, nil, badText)},
		{"no root line", requestBody(0, nil, shortText)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus(t, tw.post(t, tt.body), http.StatusBadRequest)
		})
	}
	big := bytes.Repeat([]byte("x"), MaxBodySize+1)
	wantStatus(t, tw.post(t, big), http.StatusRequestEntityTooLarge)
	if _, err := tw.Checkpoint(l.origin); !errors.Is(err, ErrNotCosigned) {
		t.Errorf("got %v, want nothing cosigned", err)
	}
}

// TestFlipEveryByte flips each byte of a valid request in turn: none may
// be cosigned.
func TestFlipEveryByte(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	if _, err := tw.AddCheckpoint(context.Background(), l.request(0, 5)); err != nil {
		t.Fatal(err)
	}
	body := l.request(5, 12)
	want := decodeRequest(t, l, body)
	for i := range body {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(body)
			b[i] ^= bit
			// A flip in a signature's last base64 character may change
			// only unused bits: another spelling of the same request.
			if decodeRequest(t, l, b) == want {
				continue
			}
			if _, err := tw.AddCheckpoint(context.Background(), b); err == nil {
				t.Fatalf("cosigned the request with byte %d ^ %#x:\n%s", i, bit, b)
			}
		}
	}
	wantHeld(t, tw, l, 5)
	if _, err := tw.AddCheckpoint(context.Background(), body); err != nil {
		t.Fatalf("the request itself: %v", err)
	}
}

// decodeRequest returns what a request says, decoded, or "" if it does
// not parse.
func decodeRequest(t *testing.T, l *testLog, body []byte) string {
	r, err := ParseRequest(body)
	if err != nil {
		return ""
	}
	n, err := note.Open(r.Checkpoint, note.VerifierList(mustVerifier(t, l.vkey)))
	if err != nil {
		return ""
	}
	out := fmt.Sprintf("%d %x\n%s", r.Old, r.Proof, n.Text)
	for _, sig := range n.Sigs {
		b, err := base64.StdEncoding.DecodeString(sig.Base64)
		if err != nil {
			return ""
		}
		out += fmt.Sprintf("%s %x\n", sig.Name, b)
	}
	return out
}

// TestReopen is crash safety: what a witness answered is in its folder
// when it opens again, and a second witness cannot open the folder while
// the first has it.
func TestReopen(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	wantStatus(t, tw.post(t, l.request(0, 5)), http.StatusOK)
	wantStatus(t, tw.post(t, l.request(5, 9)), http.StatusOK)
	held, _ := tw.Checkpoint(l.origin)

	signer, _ := NewSigner(tw.skey)
	_, err := Open(context.Background(), Config{Dir: tw.dir, Signer: signer, Logs: tw.logs})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("got %v opening a folder in use, want ErrLocked", err)
	}

	tw.close()
	// A temporary file left by a crash during a write is cleaned up.
	leftover := filepath.Join(tw.dir, stateDir, ".tmp-log.test%2Fa-123")
	if err := os.WriteFile(leftover, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	tw.open(t)
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file is still there: %v", err)
	}
	got, err := tw.Checkpoint(l.origin)
	if err != nil || !bytes.Equal(got, held) {
		t.Fatalf("after reopening got %q, %v; want %q", got, err, held)
	}
	wantSize(t, tw.post(t, l.request(0, 12)), 9)
	wantSize(t, tw.post(t, l.request(5, 12)), 9)
	wantStatus(t, tw.post(t, l.request(9, 12)), http.StatusOK)
	wantHeld(t, tw, l, 12)

	// A damaged state file stops the witness rather than starting afresh.
	tw.close()
	if err := os.WriteFile(stateFile(tw.dir, l.origin), []byte("damaged\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), Config{Dir: tw.dir, Signer: signer, Logs: tw.logs})
	if err == nil || !strings.Contains(err.Error(), "cannot read state of log.test/a") {
		t.Fatalf("got %v opening a damaged state, want an error", err)
	}
}

// TestCompareAndSwap races requests that all start from the held size:
// exactly one is cosigned, and the state never goes back.
func TestCompareAndSwap(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	wantStatus(t, tw.post(t, l.request(0, 5)), http.StatusOK)
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = l.request(5, int64(6+i))
	}
	statuses := make([]int, len(bodies))
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Go(func() { statuses[i] = tw.post(t, body).status })
	}
	wg.Wait()
	won := -1
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			if won >= 0 {
				t.Fatalf("requests %d and %d from size 5 were both cosigned", won, i)
			}
			won = i
		case http.StatusConflict:
		default:
			t.Fatalf("request %d: got status %d", i, s)
		}
	}
	if won < 0 {
		t.Fatal("no request was cosigned")
	}
	wantHeld(t, tw, l, int64(6+won))
}

func TestPages(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	b := newTestLog(t, "log.test/b")
	tw := newTestWitness(t, l, b)
	wantStatus(t, tw.post(t, l.request(0, 5)), http.StatusOK)

	r := tw.get(t, "/")
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{
		"truce witness witness.test/w1\n",
		"key " + tw.vkey + "\n",
		"  log.test/a  size 5\n    key " + l.vkey + "\n",
		"  log.test/b  none cosigned yet\n",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("GET / lacks %q:\n%s", want, r.body)
		}
	}
	if got := tw.get(t, "/healthz"); got.status != http.StatusOK || got.body != "ok\n" {
		t.Errorf("GET /healthz: got %d %q", got.status, got.body)
	}
	wantStatus(t, tw.get(t, "/checkpoint"), http.StatusBadRequest)
	wantStatus(t, tw.get(t, "/checkpoint?origin=log.test/b"), http.StatusNotFound)
	wantStatus(t, tw.get(t, "/nothing"), http.StatusNotFound)
	resp, err := http.Get(tw.srv.URL + "/add-checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /add-checkpoint: got %d, want 405", resp.StatusCode)
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadKey(dir); !errors.Is(err, ErrNoKey) {
		t.Fatalf("got %v, want ErrNoKey", err)
	}
	skey, err := CreateKey(dir, "witness.test/k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateKey(dir, "witness.test/k"); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("got %v creating a second key, want ErrKeyExists", err)
	}
	info, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("key file has mode %#o, want 0600", got)
	}
	got, err := ReadKey(dir)
	if err != nil || got != skey {
		t.Fatalf("ReadKey: got %q, %v; want %q", got, err, skey)
	}
	vkey, err := VerifierKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	// SPEC: https://c2sp.org/tlog-cosignature: type 0x04, base64 "BA" or "BB"….
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 || parts[0] != "witness.test/k" || !strings.HasPrefix(parts[2], "B") {
		t.Errorf("got verifier key %q, want name+hash+base64(0x04 || key)", vkey)
	}
	signer, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f_note.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%08x", signer.KeyHash()) != parts[1] || v.KeyHash() != signer.KeyHash() {
		t.Errorf("verifier key hash %s, signer's %08x, verifier's %08x: want one", parts[1], signer.KeyHash(), v.KeyHash())
	}
	if _, err := note.NewVerifier(vkey); err == nil {
		t.Errorf("x/mod's note accepts the cosignature key as a plain Ed25519 key")
	}
}

func TestLogKeys(t *testing.T) {
	a := newTestLog(t, "log.test/a")
	b := newTestLog(t, "log.test/b")
	a2 := newTestLog(t, "log.test/a")
	for _, tt := range []struct {
		name    string
		keys    []string
		want    []string
		wantErr string
	}{
		{"none", nil, []string{}, ""},
		{"two", []string{b.vkey, a.vkey}, []string{a.vkey, b.vkey}, ""},
		{"repeated", []string{a.vkey, a.vkey}, []string{a.vkey}, ""},
		{"two keys for one log", []string{a.vkey, a2.vkey}, nil, "two keys for the log log.test/a"},
		{"not a key", []string{"log.test/a"}, nil, "cannot read log key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs, err := LogsFromKeys(tt.keys)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := SortedKeys(logs); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	dir := t.TempDir()
	if got, err := ReadLogKeys(dir); err != nil || len(got) != 0 {
		t.Fatalf("got %q, %v from an empty folder", got, err)
	}
	if err := WriteLogKeys(dir, []string{a.vkey, b.vkey}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLogKeys(dir)
	if err != nil || strings.Join(got, " ") != a.vkey+" "+b.vkey {
		t.Fatalf("got %q, %v; want the two keys", got, err)
	}
}

// TestCosignatureFormat checks the cosignature against the spec by hand,
// not with the library that made it: key ID, big-endian timestamp, and an
// Ed25519 signature over "cosignature/v1", the time, and the note text.
//
// SPEC: https://c2sp.org/tlog-cosignature
func TestCosignatureFormat(t *testing.T) {
	l := newTestLog(t, "log.test/a")
	tw := newTestWitness(t, l)
	cp := l.checkpoint(7)
	start := time.Now().Unix()
	r := tw.post(t, requestBody(0, nil, cp))
	wantStatus(t, r, http.StatusOK)

	name, b64, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(r.body, "— "), "\n"), " ")
	if !ok || name != "witness.test/w1" {
		t.Fatalf("got signature line %q", r.body)
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(sig) != 4+8+ed25519.SignatureSize {
		t.Fatalf("got a %d-byte signature (%v), want 76", len(sig), err)
	}
	parts := strings.SplitN(tw.vkey, "+", 3)
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 33 || key[0] != 0x04 {
		t.Fatalf("verifier key %q is not type 0x04", tw.vkey)
	}
	id := sha256.Sum256(append([]byte(name+"\n"), key...))
	if !bytes.Equal(sig[:4], id[:4]) {
		t.Errorf("got key ID %x, want %x", sig[:4], id[:4])
	}
	ts := binary.BigEndian.Uint64(sig[4:12])
	if int64(ts) < start || int64(ts) > time.Now().Unix() {
		t.Errorf("got timestamp %d, want about %d", ts, start)
	}
	text, _, _ := strings.Cut(string(cp), "\n\n")
	msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s\n", ts, text)
	if !ed25519.Verify(ed25519.PublicKey(key[1:]), []byte(msg), sig[12:]) {
		t.Errorf("signature does not verify over %q", msg)
	}
}

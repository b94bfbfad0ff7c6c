package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// testLog is an in-memory RFC 6962 tree with a log key, from which tests
// make signed checkpoints and consistency proofs. Two testLogs made with
// one key and different tags are a log that forked.
type testLog struct {
	t      testing.TB
	origin string
	signer note.Signer
	skey   string
	vkey   string
	tag    string
	hashes []tlog.Hash // tlog's stored hashes
	size   int64
}

// newTestLog makes a log with a new key.
func newTestLog(t testing.TB, origin string) *testLog {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, origin)
	if err != nil {
		t.Fatal(err)
	}
	return newTestLogWithKey(t, skey, vkey, "")
}

// newTestLogWithKey makes a log with the given key; records differ between
// logs with different tags.
func newTestLogWithKey(t testing.TB, skey, vkey, tag string) *testLog {
	t.Helper()
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{t: t, origin: s.Name(), signer: s, skey: skey, vkey: vkey, tag: tag}
}

// fork returns a log with the same key whose records differ from the
// first.
func (l *testLog) fork() *testLog {
	return newTestLogWithKey(l.t, l.skey, l.vkey, "fork")
}

func (l *testLog) reader() tlog.HashReaderFunc {
	return func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = l.hashes[x]
		}
		return out, nil
	}
}

// grow appends records until the log has size records.
func (l *testLog) grow(size int64) {
	l.t.Helper()
	for l.size < size {
		h, err := tlog.StoredHashes(l.size, fmt.Appendf(nil, "record %d %s", l.size, l.tag), l.reader())
		if err != nil {
			l.t.Fatal(err)
		}
		l.hashes = append(l.hashes, h...)
		l.size++
	}
}

func (l *testLog) root(size int64) tlog.Hash {
	l.t.Helper()
	l.grow(size)
	h, err := tlog.TreeHash(size, l.reader())
	if err != nil {
		l.t.Fatal(err)
	}
	return h
}

// checkpoint returns the log's signed checkpoint at size.
func (l *testLog) checkpoint(size int64) []byte {
	l.t.Helper()
	root := l.root(size)
	text := fmt.Sprintf("%s\n%d\n%s\n", l.origin, size, base64.StdEncoding.EncodeToString(root[:]))
	b, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		l.t.Fatal(err)
	}
	return b
}

// proof returns the consistency proof from old to size.
func (l *testLog) proof(old, size int64) tlog.TreeProof {
	l.t.Helper()
	if old == 0 || old == size {
		return nil
	}
	l.grow(size)
	p, err := tlog.ProveTree(size, old, l.reader())
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

// request is an add-checkpoint body from old to size, with its proof.
func (l *testLog) request(old, size int64) []byte {
	return requestBody(uint64(old), l.proof(old, size), l.checkpoint(size))
}

func requestBody(old uint64, proof tlog.TreeProof, cp []byte) []byte {
	b := fmt.Appendf(nil, "old %d\n", old)
	for _, h := range proof {
		b = fmt.Appendf(b, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	b = append(b, '\n')
	return append(b, cp...)
}

// testWitness is a witness in a temporary folder, served on loopback.
type testWitness struct {
	*Witness
	dir  string
	skey string
	vkey string // cosignature verifier key
	logs map[string]string
	srv  *httptest.Server

	maxEvidence int          // Config.MaxEvidence
	logger      *slog.Logger // Config.Logger
}

// newTestWitness opens a witness following logs in a new folder and
// serves it.
func newTestWitness(t testing.TB, logs ...*testLog) *testWitness {
	t.Helper()
	return newTestWitnessWith(t, &testWitness{}, logs...)
}

// newTestWitnessWith is newTestWitness with the Config fields that tw
// sets.
func newTestWitnessWith(t testing.TB, tw *testWitness, logs ...*testLog) *testWitness {
	t.Helper()
	skey, err := GenerateKey("witness.test/w1")
	if err != nil {
		t.Fatal(err)
	}
	tw.dir, tw.skey, tw.logs = t.TempDir(), skey, map[string]string{}
	for _, l := range logs {
		tw.logs[l.origin] = l.vkey
	}
	tw.vkey, err = VerifierKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	tw.open(t)
	return tw
}

// open opens the witness in its folder and serves it.
func (tw *testWitness) open(t testing.TB) {
	t.Helper()
	signer, err := NewSigner(tw.skey)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Open(context.Background(), Config{Dir: tw.dir, Signer: signer, VerifierKey: tw.vkey, Logs: tw.logs,
		MaxEvidence: tw.maxEvidence, Logger: tw.logger})
	if err != nil {
		t.Fatal(err)
	}
	tw.Witness = w
	tw.srv = httptest.NewServer(w.Handler())
	t.Cleanup(tw.close)
}

// close stops serving and closes the witness; a second close does nothing.
func (tw *testWitness) close() {
	if tw.Witness == nil {
		return
	}
	tw.srv.Close()
	tw.Witness.Close()
	tw.Witness = nil
}

// response is an HTTP answer.
type response struct {
	status      int
	contentType []string
	body        string
}

func (tw *testWitness) post(t testing.TB, body []byte) response {
	t.Helper()
	resp, err := http.Post(tw.srv.URL+"/add-checkpoint", "", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return readResponse(t, resp)
}

func (tw *testWitness) get(t testing.TB, path string) response {
	t.Helper()
	resp, err := http.Get(tw.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return readResponse(t, resp)
}

func readResponse(t testing.TB, resp *http.Response) response {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, contentType: resp.Header.Values("Content-Type"), body: string(b)}
}

// verifiers returns the log's verifier and the witness's cosignature
// verifier.
func (tw *testWitness) verifiers(t testing.TB, l *testLog) (note.Verifier, note.Verifier) {
	t.Helper()
	lv, err := note.NewVerifier(l.vkey)
	if err != nil {
		t.Fatal(err)
	}
	wv, err := f_note.NewVerifierForCosignatureV1(tw.vkey)
	if err != nil {
		t.Fatal(err)
	}
	return lv, wv
}

// conflicts returns the names of the evidence files.
func (tw *testWitness) conflicts(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(tw.dir, conflictsDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

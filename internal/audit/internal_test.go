package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestTilePath(t *testing.T) {
	for _, tc := range []struct {
		l    int
		n    int64
		w    int
		want string
	}{
		{0, 0, 256, "tile/0/000"},
		{1, 1234067, 256, "tile/1/x001/x234/067"},
		{-1, 1000, 3, "tile/entries/x001/000.p/3"},
		{-1, 7, 256, "tile/entries/007"},
		{2, 0, 1, "tile/2/000.p/1"},
	} {
		if got := tilePath(tlog.Tile{H: tileHeight, L: tc.l, N: tc.n, W: tc.w}); got != tc.want {
			t.Errorf("tilePath(L=%d, N=%d, W=%d) = %q, want %q", tc.l, tc.n, tc.w, got, tc.want)
		}
	}
}

func bundleOf(entries ...string) []byte {
	var b []byte
	for _, e := range entries {
		b = append(b, byte(len(e)>>8), byte(len(e)))
		b = append(b, e...)
	}
	return b
}

func TestSplitBundle(t *testing.T) {
	long := strings.Repeat("x", 300)
	b := bundleOf("one", "", long, "four")
	got, err := splitBundle(b)
	if err != nil || !slices.Equal(asStrings(got), []string{"one", "", long, "four"}) {
		t.Errorf("splitBundle = %.40q, %v", got, err)
	}
	for _, bad := range [][]byte{b[:len(b)-1], append(bundleOf("one"), 0)} {
		if _, err := splitBundle(bad); err == nil {
			t.Errorf("splitBundle(%q) succeeded", bad)
		}
	}
	if got := prefixBundle(b, 2); string(got) != string(bundleOf("one", "")) {
		t.Errorf("prefixBundle(2) = %q", got)
	}
	if got := prefixBundle(b[:10], 3); string(got) != string(b[:10]) {
		t.Errorf("prefixBundle of a short bundle = %q, want it whole", got)
	}
}

func asStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func TestParseCheckpoint(t *testing.T) {
	const origin = "truce.example/x"
	hash := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	tree, err := parseCheckpoint(origin+"\n12\n"+hash+"\n", origin)
	if err != nil || tree.N != 12 || tree.Hash.String() != hash {
		t.Errorf("parseCheckpoint = %v, %v", tree, err)
	}
	if _, err := parseCheckpoint(origin+"\n12\n"+hash+"\nextension line\n", origin); err != nil {
		t.Errorf("a checkpoint with an extension line: %v", err)
	}
	for _, text := range []string{
		"other/origin\n12\n" + hash + "\n",
		origin + "\n012\n" + hash + "\n",
		origin + "\n-1\n" + hash + "\n",
		origin + "\n12\nAAAA\n",
		origin + "\n12\n" + hash,
		origin + "\n12\n",
	} {
		if _, err := parseCheckpoint(text, origin); err == nil {
			t.Errorf("parseCheckpoint(%q) succeeded", text)
		}
	}
}

func TestDiffJSON(t *testing.T) {
	for _, tc := range []struct {
		server, replay string
		want           []string
	}{
		{`{"a":1,"b":[1,2]}`, `{"a":1,"b":[1,2]}`, nil},
		{`{"a":1}`, `{"a":2}`, []string{"a: 1 | 2"}},
		{`{"a":1}`, `{"b":1}`, []string{"a: 1 | nothing", "b: nothing | 1"}},
		{`[1,2,3]`, `[1,5]`, []string{"the document: 3 items | 2 items", "[1]: 2 | 5"}},
		{`{"parties":[{"party":"AF","n":1},{"party":"PK","n":2}]}`, `{"parties":[{"party":"PK","n":3},{"party":"AF","n":1}]}`,
			[]string{"parties[PK].n: 2 | 3", "parties: the order AF, PK | the order PK, AF"}},
		{`{"l":[{"id":"x"}]}`, `{"l":[{"id":"x"},{"id":"y"}]}`, []string{`l[y]: nothing | {"id":"y"}`}},
		{`{"a":"x"}`, `{"a":{"b":1}}`, []string{`a: "x" | {"b":1}`}},
	} {
		var s, r any
		if err := json.Unmarshal([]byte(tc.server), &s); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.replay), &r); err != nil {
			t.Fatal(err)
		}
		var got []string
		diffJSON("", s, r, func(path, sv, rv string) { got = append(got, fmt.Sprintf("%s: %s | %s", path, sv, rv)) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("diffJSON(%s, %s) = %q, want %q", tc.server, tc.replay, got, tc.want)
		}
	}
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{Kind: KindVerdict, Index: 1234, Message: "server says accepted"}, "index 1234: server says accepted"},
		{Problem{Kind: KindIncident, Index: -1, Subject: "X", Message: "question origin: …"}, "incident X: question origin: …"},
		{Problem{Kind: KindCheckpoint, Index: -1, Message: "bad"}, "checkpoint: bad"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

// TestCheckpointFlips flips every byte of a signed checkpoint: none of
// the results may pass for the log's checkpoint.
func TestCheckpointFlips(t *testing.T) {
	const origin = "truce.example/flip"
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := note.Sign(&note.Note{Text: origin + "\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if tree, err := openCheckpoint(cp, verifier); err != nil || tree.N != 12 {
		t.Fatalf("openCheckpoint = %v, %v", tree, err)
	}
	for i := range cp {
		flipped := slices.Clone(cp)
		flipped[i] ^= 0x01
		if tree, err := openCheckpoint(flipped, verifier); err == nil && !sameNote(t, cp, flipped) {
			t.Errorf("with byte %d flipped, openCheckpoint = %v, nil", i, tree)
		}
	}
}

// sameNote reports whether two signed notes have the same text and the
// same signature bytes: base64 has spare bits in its last character, and
// x/mod's note decodes it leniently, so a flip there alters nothing.
func sameNote(t *testing.T, a, b []byte) bool {
	t.Helper()
	ta, sa, _ := strings.Cut(string(a), "\n\n")
	tb, sb, _ := strings.Cut(string(b), "\n\n")
	if ta != tb {
		return false
	}
	fa, fb := strings.Fields(sa), strings.Fields(sb)
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		da, erra := base64.StdEncoding.DecodeString(fa[i])
		db, errb := base64.StdEncoding.DecodeString(fb[i])
		if (erra == nil) != (errb == nil) || (erra != nil && fa[i] != fb[i]) || !bytes.Equal(da, db) {
			return false
		}
	}
	return true
}

// TestPostReportDeadline posts to webhooks that hang and that fail: the
// retries end at the deadline.
func TestPostReportDeadline(t *testing.T) {
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hang.Close()
	defer close(stop)
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer fail.Close()
	for _, url := range []string{hang.URL, fail.URL} {
		start := time.Now()
		err := postReport(context.Background(), nil, url, &Report{}, 300*time.Millisecond)
		if err == nil {
			t.Errorf("postReport(%s) succeeded", url)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("postReport(%s) took %v, want about 300ms", url, d)
		}
	}
}

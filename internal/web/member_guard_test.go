package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/api"
	"github.com/truce-mechanism/truce/internal/browser"
	"github.com/truce-mechanism/truce/internal/demo"
	"github.com/truce-mechanism/truce/internal/store"
	"github.com/truce-mechanism/truce/internal/web"
)

// The member pages' guards, in Chromium: sign.js signs nothing but this
// site's sign-in challenge, the page goes nowhere but this site after
// signing in, an edit after review takes the reviewed statement away,
// and a failed evidence upload can be retried alone.

// front serves d in front of a handler that may change what passes.
func front(t *testing.T, d *demo.Demo, h func(w http.ResponseWriter, r *http.Request, next http.Handler)) string {
	t.Helper()
	inner := d.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r, inner) }))
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestSignChallengeChecked: signChallenge refuses a DSSE PAE, another
// site's, mechanism's or member's challenge and anything but the five
// lines; a server whose challenge is tampered with gets no signature; and
// a next URL of another site is not followed.
func TestSignChallengeChecked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	b := browser.New(t)
	d, _ := ownDemo(t)
	var signIns atomic.Int64
	tamper := func(text string) string { return text }
	base := front(t, d, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		switch r.Method + " " + r.URL.Path {
		case "POST /signin":
			signIns.Add(1)
		case "POST /signin/challenge":
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var c web.ChallengeResponse
			json.Unmarshal(rec.Body.Bytes(), &c)
			c.Text = tamper(c.Text)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			json.NewEncoder(w).Encode(c)
			return
		}
		next.ServeHTTP(w, r)
	})
	host := strings.TrimPrefix(base, "http://")
	signInBrowser(t, b, base, d, "af-1")
	if n := signIns.Load(); n != 1 {
		t.Fatalf("%d sign-ins posted, want 1", n)
	}

	nonce := strings.Repeat("ab", 56)
	good := web.ChallengeText(demo.Origin, host, "af-1", nonce)
	cases := map[string]string{
		"good":          good,
		"dsse":          string(truce.PAE("application/vnd.truce.statement+json", []byte(`{"type":"reply"}`))),
		"dsse-lines":    "DSSEv1 " + good,
		"other-site":    web.ChallengeText(demo.Origin, "truce.other.example", "af-1", nonce),
		"other-origin":  web.ChallengeText("other.example/mechanism", host, "af-1", nonce),
		"other-member":  web.ChallengeText(demo.Origin, host, "pk-1", nonce),
		"extra-line":    good + "then: more\n",
		"no-newline":    strings.TrimSuffix(good, "\n"),
		"crlf":          strings.ReplaceAll(good, "\n", "\r\n"),
		"bad-nonce":     web.ChallengeText(demo.Origin, host, "af-1", "not hex"),
		"empty":         "",
		"prefix-only":   web.ChallengePrefix + "\n",
		"other-version": strings.Replace(good, "v1", "v2", 1),
	}
	b.Open(base+"/signin", browser.Desktop)
	var got map[string]string
	b.Eval(`(async () => { const s = await import("/static/sign.js"); const out = {};
		for (const [name, text] of Object.entries(`+jsonOf(cases)+`)) {
			try { out[name] = (await s.signChallenge(text)).length === 88 ? "signed" : "?" } catch (e) { out[name] = e.message } }
		try { await s.signChallenge(`+js(good)+`, "00"); out["wrong-nonce"] = "signed" } catch (e) { out["wrong-nonce"] = e.message }
		return out })()`, &got)
	for name, res := range got {
		if want := name == "good"; (res == "signed") != want {
			t.Errorf("signChallenge(%s): %q, want signed %v", name, res, want)
		} else if !want && !strings.Contains(res, "refusing to sign") {
			t.Errorf("signChallenge(%s): %q", name, res)
		}
	}
	if len(got) != len(cases)+1 {
		t.Errorf("got %d results, want %d", len(got), len(cases)+1)
	}

	// The server's challenge, tampered with on the way: the page refuses
	// to sign it and posts no sign-in.
	tamper = func(text string) string {
		return string(truce.PAE("application/vnd.truce.statement+json", []byte(text)))
	}
	b.Open(base+"/signin", browser.Desktop)
	b.WaitVisible("#stored")
	b.Click("#use-stored")
	b.WaitVisible("#signin-form .form-error")
	if msg := b.Text("#signin-form .form-error"); !strings.Contains(msg, "refusing to sign") {
		t.Errorf("a tampered challenge: the page says %q", msg)
	}
	if n := signIns.Load(); n != 1 {
		t.Errorf("%d sign-ins posted after a tampered challenge, want still 1", n)
	}

	// A next of another site, however it got into the page, is not
	// followed: the member lands on /member.
	tamper = func(text string) string { return text }
	b.Open(base+"/signin", browser.Desktop)
	b.WaitVisible("#stored")
	b.Eval(`document.querySelector("#signin-form").dataset.next = "https://evil.example/x"`, nil)
	b.Click("#use-stored")
	b.WaitVisible("ul.forms")
	var href string
	b.Eval(`location.href`, &href)
	if href != base+"/member" {
		t.Errorf("after signing in with next of another site, the page is %s, want %s/member", href, base)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestMemberEditAfterReview: editing the form after its review takes the
// reviewed statement away, so that what is signed is what a new review
// shows: the edited text.
func TestMemberEditAfterReview(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	b := browser.New(t)
	d, base := ownDemo(t)
	open, _, err := d.Server.Store.Subjects(context.Background(), store.KindIncident, store.Filter{Status: "open", Limit: 1})
	if err != nil || len(open) == 0 {
		t.Fatalf("no open incident: %v", err)
	}
	signInBrowser(t, b, base, d, "tr-1")
	b.Open(base+"/incidents/"+open[0].ID+"/vote?question=occurred", browser.Desktop)
	b.WaitVisible("#f-rationale")
	b.Click(`input[name=answer][value=yes]`)
	b.Fill("#f-rationale", "First thoughts.")
	if st := review(t, b); st["body"].(map[string]any)["rationale"] != "First thoughts." {
		t.Fatalf("the statement reviewed: %v", st)
	}
	edited := "Craters seen at the customs yard; the customs log matches."
	b.Eval(`(() => { const e = document.querySelector("#f-rationale"); e.focus(); e.select(); return true })()`, nil)
	b.Fill("#f-rationale", edited)
	var state struct {
		Hidden bool
		Value  string
	}
	b.Eval(`({Hidden: document.querySelector("#review").hidden, Value: document.querySelector("#f-rationale").value})`, &state)
	if !state.Hidden || state.Value != edited {
		t.Fatalf("after editing the rationale: review hidden %v, value %q, want the review gone and %q", state.Hidden, state.Value, edited)
	}
	// The old statement cannot be signed: a click on the hidden button
	// (as a script or a stale page might) does nothing.
	b.Eval(`document.querySelector("#sign-submit").click(), true`, nil)
	var result bool
	b.Eval(`document.querySelector("#result").hidden`, &result)
	if !result {
		t.Errorf("the statement reviewed before the edit was signed: %q", b.Text("#result"))
	}
	// A change of answer too.
	st := review(t, b)
	b.Click(`input[name=answer][value=no]`)
	b.Eval(`document.querySelector("#review").hidden`, &result)
	if !result {
		t.Errorf("after changing the answer the review is still shown")
	}
	st = review(t, b)
	body := st["body"].(map[string]any)
	if body["rationale"] != edited || body["answer"] != "no" {
		t.Fatalf("the statement reviewed after the edits: %v", st)
	}
	submitted(t, b, "#sign-submit")
	var index string
	b.Eval(`document.querySelector("#result a.index").getAttribute("href")`, &index)
	res, err := http.Get(base + index)
	if err != nil {
		t.Fatal(err)
	}
	var logged api.Statement
	json.NewDecoder(res.Body).Decode(&logged)
	res.Body.Close()
	entry, err := truce.ParseEntry(logged.Entry)
	if err != nil || entry.Statement == nil {
		t.Fatalf("GET %s: %v", index, err)
	}
	var signed struct{ Answer, Rationale string }
	json.Unmarshal(entry.Statement.Body, &signed)
	if signed.Rationale != edited || signed.Answer != "no" {
		t.Errorf("the statement signed: %+v, want answer no and the edited rationale", signed)
	}
}

// TestMemberEvidenceRetry: when the upload fails after the evidence.add
// is logged, the page offers to upload again, which PUTs the file alone
// (no second statement) and the store serves it.
func TestMemberEvidenceRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	b := browser.New(t)
	d, _ := ownDemo(t)
	var puts, posts atomic.Int64
	base := front(t, d, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method == "POST" && r.URL.Path == "/v1/statements" {
			posts.Add(1)
		}
		if r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/v1/evidence/") && puts.Add(1) == 1 {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":{"code":503,"message":"the evidence store is busy"}}`))
			return
		}
		next.ServeHTTP(w, r)
	})
	open, _, err := d.Server.Store.Subjects(context.Background(), store.KindIncident, store.Filter{Status: "open", Limit: 1})
	if err != nil || len(open) == 0 {
		t.Fatalf("no open incident: %v", err)
	}
	content := bytes.Repeat([]byte("crater\x00\xff"), 500)
	file := filepath.Join(t.TempDir(), "crater.bin")
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])

	signInBrowser(t, b, base, d, "mon-1")
	b.Open(base+"/incidents/"+open[0].ID+"/evidence", browser.Desktop)
	b.WaitVisible("#f-file")
	b.Fill("#f-description", "The crater, from the north.")
	b.SetFile("#f-file", file)
	review(t, b)
	submitted(t, b, "#sign-submit")
	b.WaitVisible("#result .retry-upload")
	if got := b.Text("#result"); !strings.Contains(got, "upload failed") || !strings.Contains(got, "busy") {
		t.Errorf("after the failed upload the page says %q", got)
	}
	b.Click("#result .retry-upload")
	b.WaitVisible("#result .uploaded")
	if p, n := posts.Load(), puts.Load(); p != 1 || n != 2 {
		t.Errorf("%d statements posted and %d uploads, want 1 and 2", p, n)
	}
	res, err := http.Get(base + "/v1/evidence/" + hash)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Equal(got, content) {
		t.Errorf("GET /v1/evidence/%s: %d, %d bytes, want the %d uploaded", hash, res.StatusCode, len(got), len(content))
	}
}

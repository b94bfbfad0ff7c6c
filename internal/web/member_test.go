package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/browser"
	"github.com/truce-mechanism/truce/internal/demo"
	"github.com/truce-mechanism/truce/internal/store"
	"github.com/truce-mechanism/truce/internal/web"
)

// memberKey reads a demo member's key file.
func memberKey(t *testing.T, d *demo.Demo, id string) (ed25519.PrivateKey, []byte) {
	t.Helper()
	pem, err := os.ReadFile(d.KeyFile(id))
	if err != nil {
		t.Fatal(err)
	}
	k, err := truce.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return k, pem
}

func postJSON(t *testing.T, url string, body any, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res, m
}

// challenge asks base for a sign-in challenge for member.
func challenge(t *testing.T, base, member string) web.ChallengeResponse {
	t.Helper()
	res, m := postJSON(t, base+"/signin/challenge", map[string]string{"member": member})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("challenge for %s: %d %v", member, res.StatusCode, m)
	}
	b, _ := json.Marshal(m)
	var c web.ChallengeResponse
	json.Unmarshal(b, &c)
	return c
}

// answer signs c with key and posts it as member's sign-in.
func answer(t *testing.T, base, member string, key ed25519.PrivateKey, c web.ChallengeResponse) *http.Response {
	t.Helper()
	res, _ := postJSON(t, base+"/signin", web.SignInRequest{
		Member: member, KeyID: truce.KeyID(key.Public().(ed25519.PublicKey)), Nonce: c.Nonce,
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(c.Text))),
	})
	return res
}

// signInHTTP signs member in over plain HTTP and gives its session
// cookie, as "name=value".
func signInHTTP(t *testing.T, f *fixture, base, member string) string {
	t.Helper()
	key, _ := memberKey(t, f.d, member)
	res := answer(t, base, member, key, challenge(t, base, member))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in as %s: %d", member, res.StatusCode)
	}
	for _, c := range res.Cookies() {
		if c.Name == web.SessionCookie {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("sign-in as %s set no session cookie", member)
	return ""
}

// TestSignIn: the challenge names the mechanism, the site, the member
// and the nonce; a right answer opens a session with a strict cookie;
// another member's key, a bad signature, a used nonce, another site's
// page and a forged cookie are all refused. TestSignInStateless has the
// rest.
func TestSignIn(t *testing.T) {
	f := getFixture(t)
	base := f.ui.URL
	host := strings.TrimPrefix(base, "http://")
	af, _ := memberKey(t, f.d, "af-1")
	pk, _ := memberKey(t, f.d, "pk-1")

	c := challenge(t, base, "af-1")
	want := web.ChallengeText(demo.Origin, host, "af-1", c.Nonce)
	if c.Text != want || !strings.HasPrefix(c.Text, web.ChallengePrefix+"\n") || len(c.Nonce) != 112 {
		t.Errorf("challenge text %q, want %q", c.Text, want)
	}

	// Another member's key, named as its own keyid, for af-1.
	if res := answer(t, base, "af-1", pk, c); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("af-1 signed in with pk-1's key: %d, want 401", res.StatusCode)
	}
	// A refused answer uses nothing up (so that no one but the member
	// can fill the table of used nonces): af-1's own answer is accepted,
	// once.
	if res := answer(t, base, "af-1", af, c); res.StatusCode != http.StatusOK {
		t.Errorf("af-1's answer after a refused one: %d, want 200", res.StatusCode)
	}
	if res := answer(t, base, "af-1", af, c); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a used challenge: %d, want 401", res.StatusCode)
	}
	// af-1's keyid with pk-1's signature.
	c = challenge(t, base, "af-1")
	res, _ := postJSON(t, base+"/signin", web.SignInRequest{Member: "af-1", KeyID: truce.KeyID(af.Public().(ed25519.PublicKey)), Nonce: c.Nonce,
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(pk, []byte(c.Text)))})
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a signature by another key: %d, want 401", res.StatusCode)
	}
	// A challenge for pk-1 answered for af-1.
	if res := answer(t, base, "af-1", af, challenge(t, base, "pk-1")); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("another member's challenge: %d, want 401", res.StatusCode)
	}
	// Not a member.
	if res, _ := postJSON(t, base+"/signin/challenge", map[string]string{"member": "nobody"}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a challenge for a non-member: %d, want 403", res.StatusCode)
	}
	// Another site's page.
	if res, _ := postJSON(t, base+"/signin/challenge", map[string]string{"member": "af-1"}, "Origin", "https://evil.example"); res.StatusCode != http.StatusForbidden {
		t.Errorf("a challenge from another site: %d, want 403", res.StatusCode)
	}

	res = answer(t, base, "af-1", af, challenge(t, base, "af-1"))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == web.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.Secure {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict, Path=/ (not Secure over plain HTTP)", cookie)
	}
	r := get(t, base, "/member", "Cookie", cookie.Name+"="+cookie.Value)
	if r.code != http.StatusOK || !strings.Contains(r.body, "Afghanistan liaison officer 1") || !strings.Contains(r.body, `action="/signout"`) {
		t.Errorf("/member signed in: %d, no name or sign-out", r.code)
	}
	// A cookie naming another member with af-1's MAC is no session.
	parts := strings.SplitN(cookie.Value, ".", 2)
	forged := base64.RawURLEncoding.EncodeToString([]byte("tr-1")) + "." + parts[1]
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", base+"/member", nil)
	req.Header.Set("Cookie", web.SessionCookie+"="+forged)
	fres, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	fres.Body.Close()
	if fres.StatusCode != http.StatusSeeOther || !strings.HasPrefix(fres.Header.Get("Location"), "/signin?next=") {
		t.Errorf("a forged cookie: %d %s, want a redirect to sign in", fres.StatusCode, fres.Header.Get("Location"))
	}
}

// TestMemberForms: each form answers for the roles the rules allow, and
// refuses the others with 403 and the reason.
func TestMemberForms(t *testing.T) {
	f := getFixture(t)
	base := f.ui.URL
	mon := signInHTTP(t, f, base, "mon-1")
	af := signInHTTP(t, f, base, "af-1")
	for _, tc := range []struct {
		cookie, path string
		code         int
	}{
		{af, "/report/incident", 200},
		{mon, "/report/incident", 200},
		{af, "/report/action", 200},
		{mon, "/report/action", 403},
		{mon, "/charter/cosign", 403},
		{af, "/charter/cosign", 200},
		{mon, "/incidents/" + f.incident + "/evidence", 200},
		{mon, "/incidents/" + f.incident + "/reply", 403},
		{af, "/actions/" + f.action + "/vote?question=verified", 403}, // decided
		{af, "/incidents/nothing/vote", 404},
	} {
		r := get(t, base, tc.path, "Cookie", tc.cookie)
		if r.code != tc.code {
			t.Errorf("%s: %d, want %d", tc.path, r.code, tc.code)
		}
		if r.code == 200 && !strings.Contains(r.body, `<script type="module" src="/static/member.js"></script>`) {
			t.Errorf("%s loads no member.js", tc.path)
		}
	}
	for _, js := range []string{"/static/member.js", "/static/sign.js"} {
		r := get(t, base, js)
		if r.code != 200 || r.header.Get("Content-Type") != "text/javascript; charset=utf-8" || r.header.Get("Content-Security-Policy") != web.CSP {
			t.Errorf("%s: %d %s", js, r.code, r.header.Get("Content-Type"))
		}
	}
	if r := get(t, base, "/static/other.js"); r.code != 404 {
		t.Errorf("/static/other.js: %d, want 404", r.code)
	}
}

// TestMemberGolden: the sign-in page and the forms, as the server
// renders them (go test -update rewrites testdata).
func TestMemberGolden(t *testing.T) {
	f := getFixture(t)
	af := signInHTTP(t, f, f.ui.URL, "af-1")
	tr := signInHTTP(t, f, f.ui.URL, "tr-1")
	open, _, err := f.d.Server.Store.Subjects(context.Background(), store.KindIncident, store.Filter{Status: "awaiting_reply", Limit: 1})
	if err != nil || len(open) == 0 {
		t.Fatalf("no incident awaiting replies: %v", err)
	}
	for _, tc := range []struct{ name, path, cookie string }{
		{"signin-en", "/signin?lang=en", ""},
		{"member-incident-en", "/report/incident?lang=en", af},
		{"member-action-tr", "/report/action?lang=tr", af},
		{"member-vote-ur", "/incidents/" + open[0].ID + "/vote?question=violation&lang=ur", tr},
		{"member-reply-en", "/incidents/" + open[0].ID + "/reply?lang=en", af},
		{"member-evidence-en", "/incidents/" + f.incident + "/evidence?lang=en", tr},
		{"member-cosign-en", "/charter/cosign?lang=en", tr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			if tc.cookie != "" {
				r = get(t, f.ui.URL, tc.path, "Cookie", tc.cookie)
			} else {
				r = get(t, f.ui.URL, tc.path)
			}
			golden(t, tc.name, r.body)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".html")
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s (go test -update rewrites it):\n%s", file, firstDiff(string(want), got))
	}
}

// ownDemo is a small demo of the test's own, which it may change.
func ownDemo(t *testing.T) (*demo.Demo, string) {
	t.Helper()
	d, err := demo.Open(context.Background(), filepath.Join(t.TempDir(), "demo"), demo.Config{Seed: 11, End: demoEnd, Scale: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(d.Handler())
	t.Cleanup(func() {
		ts.Close()
		d.Close(context.Background())
	})
	return d, ts.URL
}

// js quotes s as a JavaScript string.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// set sets a field's value as a picker would, with a change event.
func set(b *browser.Browser, sel, value string) {
	b.Eval(`(() => { const e = document.querySelector(`+js(sel)+`); e.value = `+js(value)+`;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return e.value })()`, nil)
}

func value(b *browser.Browser, sel string) string {
	var v string
	b.Eval(`document.querySelector(`+js(sel)+`).value`, &v)
	return v
}

// chooseFile puts a file in a file input, as picking it would.
func chooseFile(b *browser.Browser, sel, name string, content []byte) {
	b.Eval(`(() => { const dt = new DataTransfer();
		dt.items.add(new File([Uint8Array.from(atob(`+js(base64.StdEncoding.EncodeToString(content))+`), c => c.charCodeAt(0))], `+js(name)+`));
		const i = document.querySelector(`+js(sel)+`); i.files = dt.files; i.dispatchEvent(new Event("change")); return true })()`, nil)
}

// signInBrowser signs member in by picking its key file on /signin.
func signInBrowser(t *testing.T, b *browser.Browser, base string, d *demo.Demo, member string) {
	t.Helper()
	_, pem := memberKey(t, d, member)
	b.Open(base+"/signin", browser.Desktop)
	chooseFile(b, "#keyfile", member+".pem", pem)
	b.WaitVisible("ul.forms")
	if got := b.Text("li.account a"); !strings.Contains(got, "(simulated)") {
		t.Fatalf("signed in as %s, the navigation shows %q", member, got)
	}
}

func signOutBrowser(b *browser.Browser) {
	b.Click("form.signout button")
	b.WaitVisible("#stored")
}

// signAndSubmit reviews the form's statement, checks it, signs and
// submits it, and gives the log index link's text.
func review(t *testing.T, b *browser.Browser) map[string]any {
	t.Helper()
	b.Click("#statement-form button[type=submit]")
	b.WaitVisible("#review")
	var st map[string]any
	if err := json.Unmarshal([]byte(b.Text("#statement-json")), &st); err != nil {
		t.Fatalf("the statement shown is not JSON: %v", err)
	}
	return st
}

// TestMemberEndToEnd: in Chromium, a party member signs in with its key
// file and files an incident (a field error first, shown next to the
// field, with what was typed kept); both interested parties reply, which
// closes the reply window; two mediators vote that it occurred; and the
// public incident page shows the finding. A key that is not the
// member's is refused, a right-to-left page is laid out from the right,
// and the votes table fits a phone.
func TestMemberEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	b := browser.New(t)
	d, base := ownDemo(t)

	// A key that is not af-1's, claimed for af-1: the browser imports it
	// (its member id typed in), and the server refuses the sign-in.
	stranger := ed25519.NewKeyFromSeed(make([]byte, 32))
	b.Open(base+"/signin", browser.Desktop)
	set(b, "#member-id", "af-1")
	chooseFile(b, "#keyfile", "stranger.pem", truce.MarshalPrivateKey(stranger))
	b.WaitVisible("#signin-form .form-error")
	if got := b.Text("#signin-form .form-error"); !strings.Contains(got, "Sign-in refused") || !strings.Contains(got, "not a key of af-1") {
		t.Errorf("a stranger's key: %q", got)
	}

	signInBrowser(t, b, base, d, "af-1")
	b.Open(base+"/report/incident", browser.Desktop)
	set(b, "#f-occurred", "2025-11-30")
	set(b, "#f-place", "Torkham")
	if got := value(b, "#f-lat"); got != "34.11" {
		t.Errorf("picking Torkham set latitude %q, want 34.11", got)
	}
	if got := value(b, "#f-admin2"); got != "Khyber" {
		t.Errorf("picking Torkham set district %q", got)
	}
	set(b, "#f-event", "Explosions/Remote violence")
	if got := value(b, "#f-sub"); got != "Chemical weapon" {
		t.Errorf("sub-event type %q after choosing the event type, want its first", got)
	}
	set(b, "#f-sub", "Shelling/artillery/missile attack")
	set(b, "#f-origin", "PK")
	set(b, "#f-against", "PK") // wrong: the server refuses an incident against its own origin
	b.Click(`input[value="cross-border-attacks"]`)
	narrative := "Mortar rounds fired from across the border hit the Torkham customs yard at dawn."
	b.Fill("#f-narrative", narrative)
	b.Fill("#f-sources", "Customs log\nWitness statement")
	st := review(t, b)
	body, _ := st["body"].(map[string]any)
	if st["type"] != "incident.report" || st["author"] != "af-1" || st["mechanism"] != demo.Origin || body == nil ||
		body["location"].(map[string]any)["lat"] != 34.11 || len(body["sources"].([]any)) != 2 || body["clauses"].([]any)[0] != "cross-border-attacks" {
		t.Fatalf("the statement shown: %v", st)
	}
	b.Click("#sign-submit")
	b.WaitVisible("#f-against[aria-invalid=true]")
	var near string
	b.Eval(`document.querySelector("#f-against").closest(".field").querySelector(".field-error").textContent`, &near)
	if !strings.Contains(near, "same party as alleged_origin") {
		t.Errorf("the error next to against: %q", near)
	}
	if got := value(b, "#f-narrative"); got != narrative {
		t.Errorf("after the error the narrative is %q, want what was typed", got)
	}
	set(b, "#f-against", "AF")
	review(t, b)
	b.Click("#sign-submit")
	b.WaitVisible("#result .open-subject")
	var href string
	b.Eval(`document.querySelector("#result .open-subject").getAttribute("href")`, &href)
	if !strings.HasPrefix(href, "/incidents/") || !strings.Contains(b.Text("#result"), "Logged at index") {
		t.Fatalf("result %q, link %q", b.Text("#result"), href)
	}
	incident := href

	// Both interested parties reply, which closes the reply window.
	reply := func(member, text string) {
		t.Helper()
		signInBrowser(t, b, base, d, member)
		b.Open(base+incident, browser.Desktop)
		b.Click(`a[href$="/reply"]`)
		b.WaitVisible("#f-text")
		b.Fill("#f-text", text)
		st := review(t, b)
		if st["type"] != "reply" || st["author"] != member {
			t.Fatalf("reply statement %v", st)
		}
		b.Click("#sign-submit")
		b.WaitVisible("#result a.index")
		signOutBrowser(b)
	}
	reply("af-1", "Afghanistan stands by its report and offers the customs log.")
	reply("pk-1", "Pakistan denies firing and asks the mediators to inspect.")

	vote := func(member string) {
		t.Helper()
		signInBrowser(t, b, base, d, member)
		b.Open(base+incident, browser.Desktop)
		b.Click(`a[href$="/vote?question=occurred"]`)
		b.WaitVisible("#f-rationale")
		b.Click(`input[name=answer][value=yes]`)
		b.Fill("#f-rationale", "Craters and fragments seen at the customs yard; the customs log matches.")
		st := review(t, b)
		body := st["body"].(map[string]any)
		if st["type"] != "assessment" || body["question"] != "occurred" || body["answer"] != "yes" || st["author"] != member {
			t.Fatalf("vote statement %v", st)
		}
		b.Click("#sign-submit")
		b.WaitVisible("#result a.index")
		signOutBrowser(b)
	}
	vote("tr-1")
	vote("qa-1")

	b.Open(base+incident, browser.Desktop)
	if got := b.Text("#q-occurred"); !strings.Contains(got, "Decided") {
		t.Errorf("the occurred question: %q, want decided", got)
	}
	var finding string
	b.Eval(`document.querySelector("#q-occurred").closest("article").querySelector(".finding").textContent`, &finding)
	if !strings.Contains(finding, "Finding:") || !strings.Contains(finding, "Yes") {
		t.Errorf("the finding: %q", finding)
	}

	// On a phone, the votes table stacks instead of scrolling sideways.
	b.Open(base+incident, browser.Phone)
	var fit struct{ Page, View, Table, Box int }
	b.Eval(`(() => { const s = document.querySelector("table.votes").closest(".scroll");
		return {Page: document.documentElement.scrollWidth, View: document.documentElement.clientWidth, Table: s.scrollWidth, Box: s.clientWidth} })()`, &fit)
	if fit.Page > fit.View || fit.Table > fit.Box {
		t.Errorf("at %d px the page is %d px wide and the votes table %d px in %d", browser.Phone, fit.Page, fit.Table, fit.Box)
	}

	checkRTL(t, b, base+"/signin?lang=ur")
	checkRTL(t, b, base+incident+"?lang=ps")
}

// checkRTL: a right-to-left page says so, and its navigation and its
// heading start at the right edge.
func checkRTL(t *testing.T, b *browser.Browser, url string) {
	t.Helper()
	b.Open(url, browser.Desktop)
	var box struct {
		Dir                          string
		View                         float64
		NavFirst, NavLast, MainRight float64
		H1Left, H1Right, MainLeft    float64
	}
	b.Eval(`(() => { const r = (e) => e.getBoundingClientRect();
		const lis = document.querySelectorAll("header nav:not(.langs) li");
		const main = r(document.querySelector("main")), pad = parseFloat(getComputedStyle(document.querySelector("main")).paddingInlineStart);
		const range = document.createRange(); range.selectNodeContents(document.querySelector("main h1"));
		const h1 = range.getBoundingClientRect();
		return {Dir: document.dir, View: document.documentElement.clientWidth, NavFirst: r(lis[0]).right, NavLast: r(lis[lis.length-1]).right,
			MainRight: main.right - pad, MainLeft: main.left + pad, H1Left: h1.left, H1Right: h1.right} })()`, &box)
	if box.Dir != "rtl" {
		t.Errorf("%s: document.dir %q, want rtl", url, box.Dir)
	}
	if box.NavFirst < box.View-40 || box.NavLast >= box.NavFirst {
		t.Errorf("%s: the navigation's first item ends at %.0f of %.0f, its last at %.0f: not laid out from the right", url, box.NavFirst, box.View, box.NavLast)
	}
	if d := box.MainRight - box.H1Right; d < -1 || d > 2 || box.H1Left < box.MainLeft+20 {
		t.Errorf("%s: the heading runs %.0f–%.0f in main's %.0f–%.0f: not from the right", url, box.H1Left, box.H1Right, box.MainLeft, box.MainRight)
	}
}

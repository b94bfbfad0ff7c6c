package web_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/i18n"
	"github.com/truce-mechanism/truce/internal/web"
)

// clockUI is a web UI over the fixture's demo with a clock the test
// moves, and its config changed by with.
func clockUI(t *testing.T, f *fixture, with func(*web.Config)) (base string, clock *atomic.Int64) {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	clock = new(atomic.Int64)
	clock.Store(now.UnixNano())
	cfg := web.Config{
		Mechanism: f.d.Server.Mechanism, Store: f.d.Server.Store, Log: f.d.Server.Ledger,
		LogKey: f.d.Server.Info.LogKey, Catalog: cat, Now: func() time.Time { return time.Unix(0, clock.Load()) },
	}
	if with != nil {
		with(&cfg)
	}
	ts := httptest.NewServer(web.New(cfg))
	t.Cleanup(ts.Close)
	return ts.URL, clock
}

// answerAt posts member's answer to c, signed with key, as a request to
// the given Host.
func answerAt(t *testing.T, base, host, member string, key ed25519.PrivateKey, c web.ChallengeResponse) int {
	t.Helper()
	b, _ := json.Marshal(web.SignInRequest{
		Member: member, KeyID: truce.KeyID(key.Public().(ed25519.PublicKey)), Nonce: c.Nonce,
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(c.Text))),
	})
	req, _ := http.NewRequest("POST", base+"/signin", bytes.NewReader(b))
	req.Host = host
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestSignInStateless: challenges are not kept, so that more of them
// than the old table held (10,000) are all issued, and the member still
// signs in; a nonce answered once is refused the second time, an expired
// one too, and one for another member, site or with a byte changed.
func TestSignInStateless(t *testing.T) {
	f := getFixture(t)
	base, clock := clockUI(t, f, nil)
	af, _ := memberKey(t, f.d, "af-1")

	n := 12_000
	if testing.Short() {
		n = 1_000
	}
	var refused atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				// No Origin, no Sec-Fetch-Site: as curl sends it.
				res, err := client.Post(base+"/signin/challenge", "application/json", strings.NewReader(`{"member":"af-1"}`))
				if err != nil {
					refused.Add(1)
					continue
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if r := refused.Load(); r != 0 {
		t.Fatalf("%d of %d challenges refused", r, n)
	}
	c := challenge(t, base, "af-1")
	if res := answer(t, base, "af-1", af, c); res.StatusCode != http.StatusOK {
		t.Fatalf("af-1 signs in after %d challenges: %d, want 200", n, res.StatusCode)
	}
	if res := answer(t, base, "af-1", af, c); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the same nonce again: %d, want 401", res.StatusCode)
	}

	host := strings.TrimPrefix(base, "http://")
	c = challenge(t, base, "af-1")
	if code := answerAt(t, base, "truce.other.example", "af-1", af, web.ChallengeResponse{Nonce: c.Nonce,
		Text: web.ChallengeText(f.d.Server.Info.Origin, "truce.other.example", "af-1", c.Nonce)}); code != http.StatusUnauthorized {
		t.Errorf("a challenge for %s answered at another host: %d, want 401", host, code)
	}
	for i := range len(c.Nonce) {
		flipped := []byte(c.Nonce)
		if flipped[i] == '0' {
			flipped[i] = '1'
		} else {
			flipped[i] = '0'
		}
		fc := web.ChallengeResponse{Nonce: string(flipped), Text: web.ChallengeText(f.d.Server.Info.Origin, host, "af-1", string(flipped))}
		if res := answer(t, base, "af-1", af, fc); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the nonce with digit %d changed: %d, want 401", i, res.StatusCode)
		}
	}
	// Another member's challenge, signed for af-1 with its text rewritten.
	pkc := challenge(t, base, "pk-1")
	if res := answer(t, base, "af-1", af, web.ChallengeResponse{Nonce: pkc.Nonce,
		Text: web.ChallengeText(f.d.Server.Info.Origin, host, "af-1", pkc.Nonce)}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("pk-1's nonce for af-1: %d, want 401", res.StatusCode)
	}

	// Expiry: the clock moves past the five minutes.
	c = challenge(t, base, "af-1")
	clock.Add(int64(5*time.Minute + time.Second))
	if res := answer(t, base, "af-1", af, c); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("an expired challenge: %d, want 401", res.StatusCode)
	}
	if res := answer(t, base, "af-1", af, challenge(t, base, "af-1")); res.StatusCode != http.StatusOK {
		t.Errorf("a fresh challenge after: %d, want 200", res.StatusCode)
	}
}

// TestSignInNext: where the sign-in page sends the member afterwards is
// a path on this site, or /member.
func TestSignInNext(t *testing.T) {
	f := getFixture(t)
	dataNext := regexp.MustCompile(`data-next="([^"]*)"`)
	for _, tc := range []struct{ next, want string }{
		{"/incidents/abc", "/incidents/abc"},
		{"/incidents/abc/vote?question=occurred&lang=ps", "/incidents/abc/vote?question=occurred&lang=ps"},
		{"/report/incident#top", "/report/incident#top"},
		{"/member", "/member"},
		{"", "/member"},
		{"/\t/evil.example", "/member"},
		{"/\n/evil.example", "/member"},
		{"/\r\n/evil.example", "/member"},
		{"\t//evil.example", "/member"},
		{"//evil.example", "/member"},
		{"///evil.example", "/member"},
		{"/\\evil.example", "/member"},
		{"\\\\evil.example", "/member"},
		{"/x\\y", "/member"},
		{"/\x00", "/member"},
		{"/\u0085/evil.example", "/member"},
		{"https://evil.example/", "/member"},
		{"http:/evil.example", "/member"},
		{"javascript:alert(1)", "/member"},
		{"evil.example", "/member"},
		{" /member", "/member"},
		{"/%2F%2Fevil.example", "/member"},
	} {
		r := get(t, f.ui.URL, "/signin?next="+url.QueryEscape(tc.next))
		m := dataNext.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("/signin has no data-next")
		}
		if got := html.UnescapeString(m[1]); got != tc.want {
			t.Errorf("next %q: data-next %q, want %q", tc.next, got, tc.want)
		}
	}
}

// TestSessionCookies: with SecureCookies (behind a TLS proxy) the
// session cookie is Secure over plain HTTP; without, it is not.
func TestSessionCookies(t *testing.T) {
	f := getFixture(t)
	af, _ := memberKey(t, f.d, "af-1")
	for _, secure := range []bool{false, true} {
		base, _ := clockUI(t, f, func(c *web.Config) { c.SecureCookies = secure })
		res := answer(t, base, "af-1", af, challenge(t, base, "af-1"))
		var cookie *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == web.SessionCookie {
				cookie = c
			}
		}
		if res.StatusCode != http.StatusOK || cookie == nil || cookie.Secure != secure || !cookie.HttpOnly {
			t.Errorf("SecureCookies %v: %d, cookie %+v, want Secure %v", secure, res.StatusCode, cookie, secure)
		}
	}
}

// TestSessionKey: a session is bound to the key that signed in, and
// ends once a charter amendment takes that key from the member.
func TestSessionKey(t *testing.T) {
	d, base := ownDemo(t)
	af, _ := memberKey(t, d, "af-1")
	res := answer(t, base, "af-1", af, challenge(t, base, "af-1"))
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == web.SessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	if res.StatusCode != http.StatusOK || cookie == "" {
		t.Fatalf("sign-in: %d, cookie %q", res.StatusCode, cookie)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	member := func() int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/member", nil)
		req.Header.Set("Cookie", cookie)
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := member(); code != http.StatusOK {
		t.Fatalf("/member signed in: %d", code)
	}

	// An amendment gives af-1 a new key in place of the one it signed in
	// with; every party and mediator member signs it.
	var charter struct {
		Version int            `json:"version"`
		Members []truce.Member `json:"members"`
		Clauses []truce.Clause `json:"clauses"`
		Rules   truce.Rules    `json:"rules"`
	}
	r, err := http.Get(base + "/v1/charter")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(r.Body).Decode(&charter)
	r.Body.Close()
	fresh := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	var signers []string
	for i, m := range charter.Members {
		if m.ID == "af-1" {
			charter.Members[i].Keys = []string{base64.StdEncoding.EncodeToString(fresh.Public().(ed25519.PublicKey))}
		}
		if m.Role == truce.RoleParty || m.Role == truce.RoleMediator {
			signers = append(signers, m.ID)
		}
	}
	first, _ := memberKey(t, d, signers[0])
	env, err := truce.SignStatement(&truce.Statement{Type: truce.TypeCharterAmend, ID: "019a0000-0000-7000-8000-00000000a11d", Mechanism: d.Server.Info.Origin,
		Author: signers[0], Time: time.Now().UTC().Truncate(time.Second)},
		&truce.CharterAmend{Version: charter.Version + 1, Members: charter.Members, Clauses: charter.Clauses, Rules: charter.Rules}, first)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range signers[1:] {
		k, _ := memberKey(t, d, s)
		env.Sign(k)
	}
	b, _ := env.MarshalJSON()
	sres, err := http.Post(base+"/v1/statements", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Verdict struct {
			Accepted bool   `json:"accepted"`
			Reason   string `json:"reason"`
		} `json:"verdict"`
	}
	json.NewDecoder(sres.Body).Decode(&out)
	sres.Body.Close()
	if sres.StatusCode >= 300 || !out.Verdict.Accepted {
		t.Fatalf("the amendment: %d %+v", sres.StatusCode, out.Verdict)
	}
	if code := member(); code != http.StatusSeeOther {
		t.Errorf("/member after af-1's key was replaced: %d, want 303 to sign in again", code)
	}
	// The new key signs in.
	if res := answer(t, base, "af-1", fresh, challenge(t, base, "af-1")); res.StatusCode != http.StatusOK {
		t.Errorf("af-1 with its new key: %d, want 200", res.StatusCode)
	}
}

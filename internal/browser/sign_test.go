package browser_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/browser"
	"github.com/truce-mechanism/truce/internal/server"
)

const origin = "truce.example/browser-test"

var members = []struct{ id, role, party string }{
	{"af-1", truce.RoleParty, "AF"}, {"pk-1", truce.RoleParty, "PK"},
	{"tr-1", truce.RoleMediator, ""}, {"qa-1", truce.RoleMediator, ""},
}

func key(id string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("browser test " + id))
	return ed25519.NewKeyFromSeed(seed[:])
}

func ptr[T any](v T) *T { return &v }

// page is the test's member page: it loads sign.js as a module under a
// strict CSP, as the web UI will, and wires a key form to it.
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sign.js test</title>
<script type="module" src="/static/sign.js"></script>
<script type="module" src="/test.js"></script></head>
<body><h1>Import your key</h1>
<form id="import"><label for="pem">Key file</label>
<textarea id="pem" rows="6" cols="30"></textarea>
<button id="go" type="button">Import</button></form>
<p id="status"></p></body></html>`

const testJS = `import * as sign from "/static/sign.js";
window.truceSign = sign;
document.getElementById("go").addEventListener("click", async () => {
  const status = document.getElementById("status");
  try {
    const k = await sign.importMemberKey(document.getElementById("pem").value, "");
    status.textContent = "signed in as " + k.memberId + " " + k.keyid;
  } catch (e) {
    status.textContent = "error: " + e.message;
  }
});`

// serve starts a mechanism with a charter, and serves on one origin its
// API, sign.js and the test page.
func serve(t *testing.T) string {
	dir := t.TempDir()
	if _, err := server.Init(dir, origin); err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(context.Background(), server.Config{Dir: dir, BatchMaxAge: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	signJS, err := os.ReadFile(filepath.Join("..", "web", "static", "sign.js"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", srv.Handler())
	file := func(ctype, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'")
			io.WriteString(w, body)
		}
	}
	mux.Handle("GET /static/sign.js", file("text/javascript; charset=utf-8", string(signJS)))
	mux.Handle("GET /test.js", file("text/javascript; charset=utf-8", testJS))
	mux.Handle("GET /{$}", file("text/html; charset=utf-8", page))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})

	var ms []truce.Member
	for _, m := range members {
		ms = append(ms, truce.Member{ID: m.id, Name: m.id, Role: m.role, Party: m.party,
			Keys: []string{truce.EncodePublicKey(key(m.id).Public().(ed25519.PublicKey))}})
	}
	charter := &truce.Charter{
		Title: "Test", Parties: []truce.Party{{ID: "AF", Name: "Afghanistan"}, {ID: "PK", Name: "Pakistan"}},
		Members: ms, Clauses: []truce.Clause{{ID: "C1", Text: "No cross-border attacks."}},
		Rules:     truce.Rules{ReplyWindow: "72h", Verification: truce.Verification{Roles: []string{"mediator"}, Quorum: 2, Agreement: "unanimous"}},
		Languages: []string{"en"},
	}
	st := &truce.Statement{Type: truce.TypeCharter, ID: "charter-1", Mechanism: origin, Author: "tr-1", Time: time.Now().UTC().Truncate(time.Second)}
	env, err := truce.SignStatement(st, charter, key("tr-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"af-1", "pk-1", "qa-1"} {
		env.Sign(key(id))
	}
	b, _ := env.MarshalJSON()
	resp, err := http.Post(ts.URL+"/v1/statements", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("charter: %d %s", resp.StatusCode, msg)
	}
	return ts.URL
}

// TestSignInBrowser imports a member key into Chromium, signs and submits
// statements with sign.js, and checks in Go what the browser signed.
func TestSignInBrowser(t *testing.T) {
	b := browser.New(t)
	url := serve(t)
	af := key("af-1")
	pub := af.Public().(ed25519.PublicKey)

	// The key form: the member is found in the charter by its key.
	b.Open(url+"/", browser.Desktop)
	b.Fill("#pem", string(truce.MarshalPrivateKey(af)))
	b.Click("#go")
	b.Eval(`new Promise(ok => { const s = document.getElementById("status"); const f = () => s.textContent ? ok() : setTimeout(f, 20); f(); })`, nil)
	if got, want := b.Text("#status"), "signed in as af-1 "+truce.KeyID(pub); got != want {
		t.Fatalf("after import, status %q, want %q", got, want)
	}

	// Files that are not a member's key are refused, saying why.
	stranger, _ := truce.GenerateKey(nil)
	var refusals []string
	b.Eval(`(async () => {
		const out = [];
		for (const pem of ["hello", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----", `+jsString(string(truce.MarshalPrivateKey(stranger)))+`]) {
			try { await truceSign.importMemberKey(pem); out.push("imported"); } catch (e) { out.push(e.message); }
		}
		return out;
	})()`, &refusals)
	for i, want := range []string{"is not PEM", `holds a "OPENSSH PRIVATE KEY" block`, "no member of this mechanism has this key"} {
		if i >= len(refusals) || !strings.Contains(refusals[i], want) {
			t.Errorf("refused keys: got %q, want %q in message %d", refusals, want, i)
		}
	}

	// The stored key survives a reload and cannot be read back.
	b.Open(url+"/", browser.Desktop)
	var stored struct {
		MemberID, KeyID, PublicKey, Type, ExportErr string
		Extractable                                 bool
		Usages                                      []string
	}
	b.Eval(`(async () => {
		const k = await truceSign.loadMemberKey();
		let exportErr = "";
		try { await crypto.subtle.exportKey("pkcs8", k.key); } catch (e) { exportErr = e.name; }
		return {memberId: k.memberId, keyid: k.keyid, publicKey: k.publicKey, type: k.key.type,
			extractable: k.key.extractable, usages: k.key.usages, exportErr};
	})()`, &stored)
	if stored.MemberID != "af-1" || stored.KeyID != truce.KeyID(pub) || stored.PublicKey != truce.EncodePublicKey(pub) {
		t.Errorf("stored key %+v, want af-1 with keyid %s", stored, truce.KeyID(pub))
	}
	if stored.Extractable || stored.Type != "private" || stored.ExportErr != "InvalidAccessError" || fmt.Sprint(stored.Usages) != "[sign]" {
		t.Errorf("stored key is extractable %v, type %q, usages %v, export error %q; want a non-extractable private signing key",
			stored.Extractable, stored.Type, stored.Usages, stored.ExportErr)
	}

	// An incident report, signed in the browser, is logged.
	body, _ := json.Marshal(&truce.IncidentReport{
		OccurredAt: "2025-11-06", TimePrecision: 1,
		Location:  truce.Location{Lat: ptr(34.1), Lon: ptr(71.1), GeoPrecision: 1, Place: "Torkham", Admin1: "Nangarhar", Country: "Afghanistan"},
		EventType: "Battles", SubEventType: "Armed clash", AllegedOrigin: "PK", Against: "AF",
		Clauses: []string{"C1"}, Fatalities: ptr(0), Injured: ptr(1), Narrative: "Exchange of fire — تبادل آتش.", Sources: []string{},
	})
	var good struct {
		Envelope string
		Index    *int
	}
	b.Eval(`(async () => {
		const env = await truceSign.signStatement({type: "incident.report", body: `+string(body)+`});
		const r = await truceSign.submit(env);
		return {envelope: JSON.stringify(env), index: r.index};
	})()`, &good)
	if good.Index == nil || *good.Index != 1 {
		t.Fatalf("submit: index %v, want 1", good.Index)
	}
	env, err := truce.ParseEnvelope([]byte(good.Envelope))
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := env.MarshalJSON(); string(again) != good.Envelope {
		t.Errorf("the browser's envelope is not laid out as truce writes it:\n%s\nwant\n%s", good.Envelope, again)
	}
	if ok, err := env.Verify(pub); !ok || err != nil {
		t.Errorf("the browser's signature does not verify in Go: %v %v", ok, err)
	}
	st, _, err := truce.ParseStatement(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if st.Author != "af-1" || st.Mechanism != origin || st.Time.Nanosecond() != 0 || time.Since(st.Time) > time.Minute {
		t.Errorf("statement %+v: want author af-1, mechanism %s, time now in seconds", st, origin)
	}
	if len(st.ID) != 36 || st.ID[14] != '7' || !strings.Contains("89ab", string(st.ID[19])) {
		t.Errorf("statement id %q is not a UUIDv7", st.ID)
	}

	// A bad report: the error names the field, and nothing is logged.
	type submitErr struct {
		Code           int
		Message, Field string
		Index          *int
	}
	var bad submitErr
	b.Eval(`(async () => {
		const body = `+string(body)+`;
		body.location.lat = 95;
		try {
			await truceSign.submit(await truceSign.signStatement({type: "incident.report", body}));
			return {};
		} catch (e) { return {code: e.code, message: e.message, field: e.field, index: e.index}; }
	})()`, &bad)
	t.Logf("lat 95: %d %q, field %q", bad.Code, bad.Message, bad.Field)
	if bad.Code != http.StatusBadRequest || bad.Field != "body.location.lat" || bad.Index != nil {
		t.Errorf("lat 95: got %+v, want a 400 about body.location.lat", bad)
	}

	// Which field a server message is about.
	for msg, want := range map[string]string{
		"body.location.lat must be between -90 and 90":                       "body.location.lat",
		"body.members[0].keys[0] is not a base64 32-byte Ed25519 public key": "body.members[0].keys[0]",
		`type "incident.rumour" is not a statement type (want one of …)`:     "type",
		"time is required (RFC 3339, e.g. 2025-11-07T10:00:00Z)":             "time",
		"no incident or action with id nope":                                 "",
		"the signature by key 0123456789abcdef does not verify":              "",
		"cannot accept it: body.subject names a withdrawn statement":         "body.subject",
	} {
		var got string
		b.Eval(`truceSign.fieldOf(`+jsString(msg)+`)`, &got)
		if got != want {
			t.Errorf("fieldOf(%q) = %q, want %q", msg, got, want)
		}
	}

	// A statement in another member's name: 401, about no field.
	var forged submitErr
	b.Eval(`(async () => {
		try {
			await truceSign.submit(await truceSign.signStatement({type: "incident.report", author: "pk-1", body: `+string(body)+`}));
			return {};
		} catch (e) { return {code: e.code, message: e.message, field: e.field}; }
	})()`, &forged)
	if forged.Code != http.StatusUnauthorized || forged.Field != "" {
		t.Errorf("statement in pk-1's name signed by af-1: got %+v, want a 401 about no field", forged)
	}

	// A sign-in challenge verifies in Go. (signChallenge signs nothing
	// else: internal/web's TestSignChallengeChecked.)
	challenge := "truce sign-in v1\nmechanism: " + origin + "\nsite: " + strings.TrimPrefix(url, "http://") + "\nmember: af-1\nnonce: " + strings.Repeat("5f1c", 28) + "\n"
	var sig string
	b.Eval(`truceSign.signChallenge(`+jsString(challenge)+`)`, &sig)
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || !ed25519.Verify(pub, []byte(challenge), raw) {
		t.Errorf("challenge signature %q does not verify (%v)", sig, err)
	}

	// Evidence is hashed in the browser.
	var file struct {
		SHA256 string
		Size   int
	}
	content := "evidence: crater at 34.1,71.1\n"
	b.Eval(`truceSign.sha256File(new Blob([`+jsString(content)+`], {type: "text/plain"}))`, &file)
	h := sha256.Sum256([]byte(content))
	if file.SHA256 != hex.EncodeToString(h[:]) || file.Size != len(content) {
		t.Errorf("sha256File: %+v, want %x of %d bytes", file, h, len(content))
	}

	// Forgetting the key leaves nothing to sign with.
	var after string
	b.Eval(`(async () => {
		await truceSign.forgetMemberKey();
		const k = await truceSign.loadMemberKey();
		try { await truceSign.signChallenge("x"); return "signed with " + JSON.stringify(k); } catch (e) { return k === null ? e.message : "loaded " + JSON.stringify(k); }
	})()`, &after)
	if !strings.Contains(after, "no member key") {
		t.Errorf("after forgetMemberKey: %q", after)
	}

	// Screenshots work, at a phone's width.
	b.Open(url+"/", browser.Phone)
	shot := filepath.Join(os.TempDir(), "truce-browser-sign-360.png")
	b.Screenshot(shot)
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s is not a PNG (%v)", shot, err)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

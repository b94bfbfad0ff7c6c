package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/server"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const testOrigin = "truce.example/api-test"

type member struct{ id, role, party string }

var testMembers = []member{
	{"af-1", truce.RoleParty, "AF"}, {"pk-1", truce.RoleParty, "PK"}, {"tj-1", truce.RoleParty, "TJ"},
	{"tr-1", truce.RoleMediator, ""}, {"qa-1", truce.RoleMediator, ""}, {"mon-1", truce.RoleMonitor, ""},
}

// testKey is a member's fixed key, so that golden files stay put.
func testKey(id string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("api test " + id))
	return ed25519.NewKeyFromSeed(seed[:])
}

// fixture is a mechanism served over HTTP from a temporary data folder:
// the real log, projection and evidence store.
type fixture struct {
	t   *testing.T
	dir string
	srv *server.Server
	ts  *httptest.Server
	doc openAPIDoc
	v   *validator
	n   int

	mu  sync.Mutex
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	if _, err := server.Init(dir, testOrigin); err != nil {
		t.Fatal(err)
	}
	doc := loadOpenAPI(t)
	f := &fixture{t: t, dir: dir, doc: doc, v: &validator{doc: doc, strict: true},
		now: time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC)}
	srv, err := server.Open(context.Background(), server.Config{Dir: dir, Now: f.clock, BatchMaxAge: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		f.ts.Close()
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// statement is a new statement by author with a fresh id (st-1, st-2, …).
func (f *fixture) statement(author, typ string) *truce.Statement {
	f.n++
	return &truce.Statement{Type: typ, ID: fmt.Sprintf("st-%d", f.n), Mechanism: testOrigin, Author: author, Time: f.clock()}
}

// seal signs st with body by st.Author's key and then each cosigner's.
func (f *fixture) seal(st *truce.Statement, body any, cosigners ...string) []byte {
	f.t.Helper()
	env, err := truce.SignStatement(st, body, testKey(st.Author))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range cosigners {
		env.Sign(testKey(s))
	}
	b, err := env.MarshalJSON()
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// env is a signed statement and its id.
func (f *fixture) env(author, typ string, body any, cosigners ...string) (string, []byte) {
	st := f.statement(author, typ)
	return st.ID, f.seal(st, body, cosigners...)
}

// submit posts an envelope that must be logged and accepted, and returns
// its log index.
func (f *fixture) submit(env []byte) uint64 {
	f.t.Helper()
	code, m := f.doJSON("POST", "/v1/statements", env)
	if code != http.StatusCreated {
		f.t.Fatalf("POST /v1/statements: %d %v, want 201", code, m)
	}
	if v := m["verdict"].(map[string]any); v["accepted"] != true {
		f.t.Fatalf("POST /v1/statements: logged but rejected: %v", v)
	}
	return uint64(m["index"].(float64))
}

// post submits a new statement that must be accepted, and returns its id.
func (f *fixture) post(author, typ string, body any, cosigners ...string) string {
	f.t.Helper()
	id, env := f.env(author, typ, body, cosigners...)
	f.submit(env)
	return id
}

// logSize is the number of entries in the log and in the state.
func (f *fixture) logSize() (log, state uint64) {
	f.t.Helper()
	n, err := f.srv.Ledger.Size(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n, f.srv.Mechanism.Next()
}

// response is an HTTP response, read whole.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// raw makes a request without holding the answer to the description.
func (f *fixture) raw(method, path string, body []byte) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// do makes a request and checks the answer against openapi.json: the route
// and the status code are described, the Content-Type is one the
// description gives, and a JSON body validates against its schema.
func (f *fixture) do(method, path string, body []byte) response {
	f.t.Helper()
	r := f.raw(method, path, body)
	tpl, op := f.operation(method, path)
	if op == nil {
		f.t.Fatalf("%s %s: no such operation in openapi.json", method, path)
	}
	resps, _ := op["responses"].(map[string]any)
	desc, ok := resps[fmt.Sprint(r.code)]
	if !ok {
		f.t.Errorf("%s %s: status %d is not described for %s %s (body %.200s)", method, path, r.code, method, tpl, r.body)
		return r
	}
	content, _ := f.doc.deref(desc)["content"].(map[string]any)
	if content == nil {
		return r
	}
	ct, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		f.t.Errorf("%s %s: Content-Type %q: %v", method, path, r.header.Get("Content-Type"), err)
		return r
	}
	media, ok := content[ct].(map[string]any)
	if !ok {
		f.t.Errorf("%s %s: Content-Type %s is not described for status %d (want one of %v)", method, path, ct, r.code, sortedKeys(content))
		return r
	}
	if ct != "application/json" {
		return r
	}
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		f.t.Errorf("%s %s: %d body is not JSON: %v", method, path, r.code, err)
		return r
	}
	if schema, ok := media["schema"]; ok {
		for _, e := range f.v.validate(schema, v) {
			f.t.Errorf("%s %s: %d: %s", method, path, r.code, e)
		}
	}
	return r
}

// doJSON is do for a JSON object response.
func (f *fixture) doJSON(method, path string, body []byte) (int, map[string]any) {
	f.t.Helper()
	r := f.do(method, path, body)
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		f.t.Fatalf("%s %s: %d %q is not a JSON object", method, path, r.code, r.body)
	}
	return r.code, m
}

// get is a GET that must answer 200 with a JSON object.
func (f *fixture) get(path string) map[string]any {
	f.t.Helper()
	code, m := f.doJSON("GET", path, nil)
	if code != http.StatusOK {
		f.t.Fatalf("GET %s: %d %v", path, code, m)
	}
	return m
}

// operation finds the described operation that serves method and path.
// Concrete paths win over templated ones, as OpenAPI says.
func (f *fixture) operation(method, path string) (string, map[string]any) {
	path, _, _ = strings.Cut(path, "?")
	paths := f.doc["paths"].(map[string]any)
	best, bestParams := "", -1
	for tpl, item := range paths {
		re, n := templateRegexp(f.doc, tpl, item.(map[string]any))
		if re.MatchString(path) && (bestParams < 0 || n < bestParams) {
			best, bestParams = tpl, n
		}
	}
	if best == "" {
		return "", nil
	}
	op, _ := paths[best].(map[string]any)[strings.ToLower(method)].(map[string]any)
	return best, op
}

var templateParam = regexp.MustCompile(`\{([^}]+)\}`)

// templateRegexp matches the paths a path template serves. A parameter
// matches one segment, unless its pattern admits slashes (a tlog-tiles
// index such as x001/234).
func templateRegexp(doc openAPIDoc, tpl string, item map[string]any) (*regexp.Regexp, int) {
	patterns := map[string]string{}
	for _, op := range append([]any{item}, opsOf(item)...) {
		ps, _ := op.(map[string]any)["parameters"].([]any)
		for _, p := range ps {
			p := doc.deref(p)
			if s := doc.deref(p["schema"]); s != nil {
				if pat, ok := s["pattern"].(string); ok && strings.Contains(pat, "/") {
					patterns[p["name"].(string)] = strings.TrimSuffix(strings.TrimPrefix(pat, "^"), "$")
				}
			}
		}
	}
	var b strings.Builder
	b.WriteString("^")
	last := 0
	n := 0
	for _, m := range templateParam.FindAllStringSubmatchIndex(tpl, -1) {
		b.WriteString(regexp.QuoteMeta(tpl[last:m[0]]))
		if p, ok := patterns[tpl[m[2]:m[3]]]; ok {
			b.WriteString("(?:" + p + ")")
		} else {
			b.WriteString("[^/]+")
		}
		last = m[1]
		n++
	}
	b.WriteString(regexp.QuoteMeta(tpl[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String()), n
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func opsOf(item map[string]any) []any {
	var ops []any
	for _, m := range httpMethods {
		if op, ok := item[m]; ok {
			ops = append(ops, op)
		}
	}
	return ops
}

// refuse submits body and wants it refused with status code, the error
// shape, a message containing phrase, and nothing logged.
func (f *fixture) refuse(body []byte, code int, phrase string) {
	f.t.Helper()
	log0, state0 := f.logSize()
	r := f.do("POST", "/v1/statements", body)
	f.wantError(r, "POST /v1/statements", code, phrase)
	if log, state := f.logSize(); log != log0 || state != state0 {
		f.t.Errorf("POST refused with %d: log size %d, state %d; want %d, %d (nothing logged)", code, log, state, log0, state0)
	}
}

// wantError checks an error response: status, {"error":{"code","message"}}
// with code equal to the status, and a message containing phrase.
func (f *fixture) wantError(r response, what string, code int, phrase string) {
	f.t.Helper()
	if r.code != code {
		f.t.Errorf("%s: status %d %s, want %d", what, r.code, r.body, code)
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var e struct {
		Error *struct {
			Code    *int    `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == nil || e.Error.Code == nil || e.Error.Message == nil {
		f.t.Errorf("%s: body %s, want {\"error\":{\"code\":…,\"message\":…}}", what, r.body)
		return
	}
	if *e.Error.Code != code {
		f.t.Errorf("%s: error.code %d, want %d", what, *e.Error.Code, code)
	}
	if !strings.Contains(*e.Error.Message, phrase) {
		f.t.Errorf("%s: message %q, want it to say %q", what, *e.Error.Message, phrase)
	}
}

// getError is a GET that must fail with code and a message saying phrase.
func (f *fixture) getError(path string, code int, phrase string) {
	f.t.Helper()
	f.wantError(f.do("GET", path, nil), "GET "+path, code, phrase)
}

// golden compares a JSON response body with testdata/name, or rewrites it
// with -update.
func (f *fixture) golden(name string, body []byte) {
	f.t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(body), "", "  "); err != nil {
		f.t.Fatalf("%s: %v", name, err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			f.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		f.t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", name, path, lineDiff(string(want), buf.String()))
	}
}

// lineDiff lists the lines that differ, for a golden file's failure.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)) && b.Len() < 4000; i++ {
		var x, y string
		if i < len(w) {
			x = w[i]
		}
		if i < len(g) {
			y = g[i]
		}
		if x != y {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, x, y)
		}
	}
	return b.String()
}

func ptr[T any](v T) *T { return &v }

func charter() *truce.Charter {
	var ms []truce.Member
	for _, m := range testMembers {
		ms = append(ms, truce.Member{ID: m.id, Name: "Member " + m.id, Role: m.role, Party: m.party,
			Keys: []string{truce.EncodePublicKey(testKey(m.id).Public().(ed25519.PublicKey))}})
	}
	return &truce.Charter{
		Title:   "Joint monitoring mechanism (test)",
		Parties: []truce.Party{{ID: "AF", Name: "Afghanistan"}, {ID: "PK", Name: "Pakistan"}, {ID: "TJ", Name: "Tajikistan"}},
		Members: ms,
		Clauses: []truce.Clause{
			{ID: "C1", Text: "No cross-border attacks.", Consequence: "A penalty set by the guarantors."},
			{ID: "C2", Text: "No sanctuary for armed groups."},
		},
		Rules:     truce.Rules{ReplyWindow: "72h", Verification: truce.Verification{Roles: []string{"mediator"}, Quorum: 2, Agreement: "unanimous"}},
		Languages: []string{"en", "ps", "ur"},
	}
}

// signers of the genesis charter besides its author, tr-1.
var charterCosigners = []string{"af-1", "pk-1", "tj-1", "qa-1"}

type place struct {
	lat, lon               float64
	place, admin1, country string
}

var (
	torkham = place{34.13, 71.09, "Torkham", "Nangarhar", "Afghanistan"}
	chaman  = place{30.92, 66.45, "Chaman", "Balochistan", "Pakistan"}
	panj    = place{37.23, 69.10, "Panj", "Khatlon", "Tajikistan"}
	dand    = place{33.71, 70.03, "Dand-e-Patan", "Paktia", "Afghanistan"}
	spin    = place{30.99, 66.40, "Spin Boldak", "Kandahar", "Afghanistan"}
)

func incident(at place, occurred, eventType, subType, origin, against string) *truce.IncidentReport {
	return &truce.IncidentReport{
		OccurredAt: occurred, TimePrecision: 1,
		Location:  truce.Location{Lat: ptr(at.lat), Lon: ptr(at.lon), GeoPrecision: 1, Place: at.place, Admin1: at.admin1, Country: at.country},
		EventType: eventType, SubEventType: subType, AllegedOrigin: origin, Against: against,
		Clauses: []string{"C1"}, Fatalities: ptr(0), Injured: ptr(2),
		Narrative: "Exchange of fire across the border.", Sources: []string{"https://news.example/1"},
	}
}

func vote(subject, question, answer, severity string) *truce.Assessment {
	return &truce.Assessment{Subject: subject, Question: question, Answer: answer, Severity: severity, Rationale: "Seen on site: " + answer + "."}
}

// evidenceFile is the content of the world's evidence file.
var evidenceFile = []byte("JPEG? no: a test's stand-in for a photograph of the crossing\n")

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return fmt.Sprintf("%x", h[:])
}

// world is the mechanism that most tests read: one subject in each
// status, and fillers.
type world struct {
	decided, open, disputed, withdrawn string // incidents
	action                             string
	fillers                            []string // incidents awaiting reply
}

// incidents lists every incident id of the world, newest first.
func (w *world) incidents() []string {
	ids := slices.Clone(w.fillers)
	slices.Reverse(ids)
	return append(ids, w.withdrawn, w.disputed, w.open, w.decided)
}

func (f *fixture) buildWorld() *world {
	f.t.Helper()
	var w world
	f.post("tr-1", truce.TypeCharter, charter(), charterCosigners...)
	w.decided = f.post("af-1", truce.TypeIncident, incident(torkham, "2025-11-01", "Battles", "Armed clash", "PK", "AF"))
	w.open = f.post("pk-1", truce.TypeIncident, incident(chaman, "2025-11-03", "Explosions/Remote violence", "Shelling/artillery/missile attack", "AF", "PK"))
	w.disputed = f.post("mon-1", truce.TypeIncident, incident(panj, "2025-11-05T06:30:00Z", "Violence against civilians", "Attack", "unknown", "TJ"))
	w.withdrawn = f.post("af-1", truce.TypeIncident, incident(dand, "2025-11-04", "Battles", "Armed clash", "PK", "AF"))
	w.action = f.post("af-1", truce.TypeAction, &truce.ActionReport{Clause: "C2", TakenAt: "2025-11-02", Description: "Closed a training camp near the border.",
		Location: &truce.Location{Lat: ptr(35.0), Lon: ptr(71.3), GeoPrecision: 2, Place: "Asadabad", Admin1: "Kunar", Country: "Afghanistan"}})

	f.advance(time.Minute)
	// The decided incident: evidence, both interested parties reply (which
	// closes its window), uncounted votes, a changed vote, then the mediators.
	f.post("af-1", truce.TypeEvidence, &truce.EvidenceAdd{Subject: w.decided, SHA256: sha(evidenceFile), Size: int64(len(evidenceFile)),
		MediaType: "image/jpeg", Name: "crossing.jpg", CapturedAt: "2025-11-01T08:15:00Z", Description: "The crossing after the exchange of fire."})
	f.post("pk-1", truce.TypeReply, &truce.Reply{Subject: w.decided, Text: "Our posts did not fire first.", Contests: []string{"origin"}})
	f.post("af-1", truce.TypeReply, &truce.Reply{Subject: w.decided, Text: "Shell fragments are attached."})
	f.post("af-1", truce.TypeAssessment, vote(w.decided, "occurred", "yes", ""))
	f.post("mon-1", truce.TypeAssessment, vote(w.decided, "occurred", "yes", ""))
	f.post("tr-1", truce.TypeAssessment, vote(w.decided, "origin", "inconclusive", ""))
	for _, m := range []string{"tr-1", "qa-1"} {
		f.post(m, truce.TypeAssessment, vote(w.decided, "occurred", "yes", ""))
		f.post(m, truce.TypeAssessment, vote(w.decided, "origin", "PK", ""))
		f.post(m, truce.TypeAssessment, vote(w.decided, "duplicate_of", "none", ""))
	}
	f.post("tr-1", truce.TypeAssessment, vote(w.decided, "violation", "yes", "serious"))
	f.post("qa-1", truce.TypeAssessment, vote(w.decided, "violation", "yes", "minor"))

	// Open: both parties replied, nobody voted.
	f.post("pk-1", truce.TypeReply, &truce.Reply{Subject: w.open, Text: "Shells landed in Chaman."})
	f.post("af-1", truce.TypeReply, &truce.Reply{Subject: w.open, Text: "We deny it.", Contests: []string{"occurred", "origin"}})
	// Disputed: the one interested party replied; the mediators disagree.
	f.post("tj-1", truce.TypeReply, &truce.Reply{Subject: w.disputed, Text: "Confirmed by our border guards."})
	f.post("tr-1", truce.TypeAssessment, vote(w.disputed, "occurred", "yes", ""))
	f.post("qa-1", truce.TypeAssessment, vote(w.disputed, "occurred", "no", ""))
	// Withdrawn.
	f.post("af-1", truce.TypeWithdraw, &truce.Withdraw{Subject: w.withdrawn, Reason: "Reported twice."})
	// The action: verified.
	f.post("af-1", truce.TypeReply, &truce.Reply{Subject: w.action, Text: "Photographs on request."})
	f.post("tr-1", truce.TypeAssessment, vote(w.action, "verified", "yes", ""))
	f.post("qa-1", truce.TypeAssessment, vote(w.action, "verified", "yes", ""))
	// A denial of access.
	f.post("mon-1", truce.TypeAccessDenied, &truce.AccessDenied{Party: "PK", Place: "Angoor Adda", At: "2025-11-06", Description: "Turned back at the checkpoint."})

	// Fillers, awaiting reply: older dates, another place.
	for i := range 5 {
		w.fillers = append(w.fillers, f.post("mon-1", truce.TypeIncident, incident(spin, fmt.Sprintf("2025-10-2%d", i), "Battles", "Armed clash", "PK", "AF")))
	}
	return &w
}

// ids is the "id" of each item of a list response.
func ids(m map[string]any) []string {
	var out []string
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
)

const testOrigin = "truce.example/server-test"

type member struct{ id, role, party string }

var testMembers = []member{
	{"af-1", truce.RoleParty, "AF"}, {"pk-1", truce.RoleParty, "PK"},
	{"tr-1", truce.RoleMediator, ""}, {"qa-1", truce.RoleMediator, ""}, {"mon-1", truce.RoleMonitor, ""},
}

var testKeys sync.Map // member id → ed25519.PrivateKey

func testKey(id string) ed25519.PrivateKey {
	if k, ok := testKeys.Load(id); ok {
		return k.(ed25519.PrivateKey)
	}
	seed := sha256.Sum256([]byte("server test " + id))
	k := ed25519.NewKeyFromSeed(seed[:])
	testKeys.Store(id, k)
	return k
}

// fixture is a served mechanism in a temporary data folder.
type fixture struct {
	t   *testing.T
	dir string
	srv *Server
	ts  *httptest.Server
	n   int
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	if _, err := Init(dir, testOrigin); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, now: time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC)}
	f.open()
	return f
}

func (f *fixture) open() {
	srv, err := Open(context.Background(), Config{Dir: f.dir, Now: func() time.Time { return f.now }, BatchMaxAge: 5 * time.Millisecond})
	if err != nil {
		f.t.Fatal(err)
	}
	f.srv = srv
	f.ts = httptest.NewServer(srv.Handler())
	f.t.Cleanup(f.close)
}

func (f *fixture) close() {
	if f.srv == nil {
		return
	}
	f.ts.Close()
	if err := f.srv.Close(context.Background()); err != nil {
		f.t.Error(err)
	}
	f.srv = nil
}

func (f *fixture) envelope(author, typ string, body any, signers ...string) []byte {
	f.t.Helper()
	f.n++
	st := &truce.Statement{Type: typ, ID: fmt.Sprintf("st-%d", f.n), Mechanism: testOrigin, Author: author, Time: f.now}
	env, err := truce.SignStatement(st, body, testKey(author))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range signers {
		env.Sign(testKey(s))
	}
	b, _ := env.MarshalJSON()
	return b
}

func (f *fixture) do(method, path string, body []byte) (int, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.ts.URL+path, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		f.t.Fatalf("%s %s: %d %q is not a JSON object", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// post submits an envelope and wants the given status; it returns the index.
func (f *fixture) post(want int, env []byte) uint64 {
	f.t.Helper()
	code, m := f.do("POST", "/v1/statements", env)
	if code != want {
		f.t.Fatalf("POST: status %d %v, want %d", code, m, want)
	}
	if want != http.StatusCreated {
		e, _ := m["error"].(map[string]any)
		if e == nil || e["code"] != float64(want) || e["message"] == "" {
			f.t.Fatalf("POST: error body %v", m)
		}
		return 0
	}
	if v := m["verdict"].(map[string]any); v["accepted"] != true {
		f.t.Fatalf("POST: logged but rejected: %v", v)
	}
	return uint64(m["index"].(float64))
}

func ptr[T any](v T) *T { return &v }

func charter() *truce.Charter {
	var ms []truce.Member
	for _, m := range testMembers {
		ms = append(ms, truce.Member{ID: m.id, Name: m.id, Role: m.role, Party: m.party,
			Keys: []string{truce.EncodePublicKey(testKey(m.id).Public().(ed25519.PublicKey))}})
	}
	return &truce.Charter{
		Title: "Test", Parties: []truce.Party{{ID: "AF", Name: "Afghanistan"}, {ID: "PK", Name: "Pakistan"}},
		Members: ms, Clauses: []truce.Clause{{ID: "C1", Text: "No cross-border attacks."}},
		Rules:     truce.Rules{ReplyWindow: "72h", Verification: truce.Verification{Roles: []string{"mediator"}, Quorum: 2, Agreement: "unanimous"}},
		Languages: []string{"en"},
	}
}

func incident() *truce.IncidentReport {
	return &truce.IncidentReport{
		OccurredAt: "2025-11-06", TimePrecision: 1,
		Location:  truce.Location{Lat: ptr(34.1), Lon: ptr(71.1), GeoPrecision: 1, Place: "Torkham", Admin1: "Nangarhar", Country: "Afghanistan"},
		EventType: "Battles", SubEventType: "Armed clash", AllegedOrigin: "PK", Against: "AF",
		Clauses: []string{"C1"}, Fatalities: ptr(0), Injured: ptr(1), Narrative: "Exchange of fire.", Sources: []string{},
	}
}

func TestStatementsOverHTTP(t *testing.T) {
	f := newFixture(t)
	f.post(http.StatusCreated, f.envelope("tr-1", truce.TypeCharter, charter(), "af-1", "pk-1", "qa-1"))
	id := fmt.Sprintf("st-%d", f.n+1)
	idx := f.post(http.StatusCreated, f.envelope("af-1", truce.TypeIncident, incident()))

	// Refusals: each named, none logged.
	size := f.srv.Mechanism.Next()
	f.post(http.StatusBadRequest, []byte(`{"payloadType":`))
	f.post(http.StatusBadRequest, []byte(`{"payload":"!!!","payloadType":"application/vnd.truce.statement+json","signatures":[]}`))
	bad := incident()
	bad.Location.Lat = nil
	f.post(http.StatusBadRequest, f.envelope("af-1", truce.TypeIncident, bad))
	f.post(http.StatusBadRequest, f.envelope("af-1", "incident.rumour", incident()))
	f.post(http.StatusForbidden, f.envelope("pk-1", truce.TypeWithdraw, &truce.Withdraw{Subject: id, Reason: "x"}))
	forged := f.envelope("tr-1", truce.TypeAssessment, &truce.Assessment{Subject: id, Question: "occurred", Answer: "yes", Rationale: "r"})
	env, _ := truce.ParseEnvelope(forged)
	env.Signatures = nil
	env.Sign(testKey("pk-1")) // pk-1 signs a vote in tr-1's name
	forged, _ = env.MarshalJSON()
	f.post(http.StatusUnauthorized, forged)
	f.post(http.StatusBadRequest, f.envelope("tr-1", truce.TypeAssessment, &truce.Assessment{Subject: "nope", Question: "occurred", Answer: "yes", Rationale: "r"}))
	big := incident()
	big.Narrative = strings.Repeat("x", 70<<10)
	f.post(http.StatusRequestEntityTooLarge, f.envelope("af-1", truce.TypeIncident, big))
	replay := f.envelope("tr-1", truce.TypeAssessment, &truce.Assessment{Subject: id, Question: "occurred", Answer: "yes", Rationale: "r"})
	f.post(http.StatusCreated, replay)
	f.post(http.StatusConflict, replay)
	if got := f.srv.Mechanism.Next(); got != size+1 {
		t.Fatalf("log has %d entries after refusals, want %d", got, size+1)
	}

	// A batch: results in order, errors per envelope.
	batch, _ := json.Marshal(map[string]any{"envelopes": []json.RawMessage{
		f.envelope("qa-1", truce.TypeAssessment, &truce.Assessment{Subject: id, Question: "occurred", Answer: "yes", Rationale: "r"}),
		json.RawMessage(`{"nope":1}`),
	}})
	code, m := f.do("POST", "/v1/statements", batch)
	results := m["results"].([]any)
	if code != 200 || len(results) != 2 || results[0].(map[string]any)["index"] == nil || results[1].(map[string]any)["error"] == nil {
		t.Fatalf("batch: %d %v", code, m)
	}

	code, m = f.do("GET", fmt.Sprintf("/v1/statements/%d", idx), nil)
	if code != 200 || m["verdict"].(map[string]any)["accepted"] != true || m["entry"].(map[string]any)["received"] != "2025-11-07T10:00:00.000Z" {
		t.Fatalf("GET statement: %d %v", code, m)
	}
	if code, _ := f.do("GET", "/v1/statements/999", nil); code != 404 {
		t.Fatalf("unknown index: %d", code)
	}

	// The window closes on the log's clock; the votes decide.
	f.now = f.now.Add(73 * time.Hour)
	f.post(http.StatusCreated, f.envelope("mon-1", truce.TypeIncident, incident()))
	code, m = f.do("GET", "/v1/incidents/"+id, nil)
	q := m["questions"].(map[string]any)["occurred"].(map[string]any)
	if code != 200 || q["status"] != "decided" || q["answer"] != "yes" || len(q["votes"].([]any)) != 2 {
		t.Fatalf("incident: %d %v", code, q)
	}
	code, m = f.do("GET", "/v1/incidents?status=open&place=torkham", nil)
	if items := m["items"].([]any); code != 200 || len(items) != 1 {
		t.Fatalf("list: %d %v", code, m)
	}
	if code, m := f.do("GET", "/v1/incidents?status=bogus", nil); code != 400 {
		t.Fatalf("bad filter: %d %v", code, m)
	}

	// Restart: the projection carries on where it was.
	f.close()
	f.open()
	code, m = f.do("GET", "/v1/incidents/"+id, nil)
	if code != 200 || m["questions"].(map[string]any)["occurred"].(map[string]any)["status"] != "decided" {
		t.Fatalf("after restart: %d %v", code, m)
	}
	f.post(http.StatusConflict, replay)
	code, m = f.do("GET", "/v1/log", nil)
	if code != 200 || m["origin"] != testOrigin || !strings.HasPrefix(m["key"].(string), testOrigin+"+") {
		t.Fatalf("/v1/log: %v", m)
	}
}

// TestReindex rebuilds the projection from the log and checks it equals
// both the projection it replaced and a fresh replay.
func TestReindex(t *testing.T) {
	f := newFixture(t)
	f.post(http.StatusCreated, f.envelope("tr-1", truce.TypeCharter, charter(), "af-1", "pk-1", "qa-1"))
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, fmt.Sprintf("st-%d", f.n+1))
		f.post(http.StatusCreated, f.envelope("af-1", truce.TypeIncident, incident()))
	}
	f.now = f.now.Add(80 * time.Hour)
	for _, id := range ids[:3] {
		for _, m := range []string{"tr-1", "qa-1"} {
			f.post(http.StatusCreated, f.envelope(m, truce.TypeAssessment, &truce.Assessment{Subject: id, Question: "violation", Answer: "yes", Severity: "minor", Rationale: "r"}))
		}
	}
	ctx := context.Background()
	before := map[string][]byte{}
	for _, id := range ids {
		row, err := f.srv.Store.Subject(ctx, "incident", id)
		if err != nil {
			t.Fatal(err)
		}
		before[id] = row.Doc
	}
	compareWithReplay(t, f.srv)
	if err := f.srv.Store.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	f.close()
	f.open()
	compareWithReplay(t, f.srv)
	for _, id := range ids {
		row, err := f.srv.Store.Subject(ctx, "incident", id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(row.Doc, before[id]) {
			t.Fatalf("%s after reindex:\n%s\nbefore:\n%s", id, row.Doc, before[id])
		}
	}
}

// TestEntryLoggedBehindTheMechanism appends an entry to the log directly,
// as a submitter that never handed it over would leave it, and checks
// that the applier reads it back from the log and carries on.
func TestEntryLoggedBehindTheMechanism(t *testing.T) {
	f := newFixture(t)
	env, err := truce.ParseEnvelope(f.envelope("tr-1", truce.TypeCharter, charter(), "af-1", "pk-1", "qa-1"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := truce.MarshalEntry(f.now, env)
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := f.srv.Ledger.Queue(context.Background(), data)(); err != nil || idx != 0 {
		t.Fatalf("Queue = %d, %v", idx, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.srv.Mechanism.Next() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the applier never read the entry back from the log")
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, m := f.do("GET", "/v1/statements/0", nil)
	if code != 200 || m["verdict"].(map[string]any)["accepted"] != true {
		t.Fatalf("GET /v1/statements/0: %d %v", code, m)
	}
	if idx := f.post(http.StatusCreated, f.envelope("af-1", truce.TypeIncident, incident())); idx != 1 {
		t.Fatalf("next statement at index %d, want 1", idx)
	}
}

// TestProjectionFailure closes the projection under a running server: the
// statement already in the log keeps its index, health says what is
// wrong, and a restart catches the projection up with nothing lost.
func TestProjectionFailure(t *testing.T) {
	f := newFixture(t)
	f.post(http.StatusCreated, f.envelope("tr-1", truce.TypeCharter, charter(), "af-1", "pk-1", "qa-1"))
	if err := f.srv.Store.Close(); err != nil {
		t.Fatal(err)
	}
	code, m := f.do("POST", "/v1/statements", f.envelope("af-1", truce.TypeIncident, incident()))
	if code != http.StatusInternalServerError || m["index"] != float64(1) {
		t.Fatalf("POST with the projection closed: %d %v, want 500 with index 1", code, m)
	}
	resp, err := http.Get(f.ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "stopped applying entries") {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
	}
	// Later statements are refused, not lost: nothing more is logged.
	code, m = f.do("POST", "/v1/statements", f.envelope("pk-1", truce.TypeIncident, incident()))
	if code != http.StatusInternalServerError || m["index"] != nil {
		t.Fatalf("POST after the failure: %d %v, want 500 without an index", code, m)
	}
	if size, _ := f.srv.Ledger.Size(context.Background()); size != 2 {
		t.Fatalf("the log holds %d entries after the failure, want 2", size)
	}

	f.ts.Close()
	f.srv.Mechanism.Close()
	f.srv.Ledger.Close(context.Background())
	f.srv = nil
	f.open()
	code, m = f.do("GET", "/v1/statements/1", nil)
	if code != 200 || m["verdict"].(map[string]any)["accepted"] != true {
		t.Fatalf("after restart, statement 1: %d %v", code, m)
	}
	compareWithReplay(t, f.srv)
}

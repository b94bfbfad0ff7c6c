package state

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
)

const origin = "truce.example/test"

// world is a test mechanism: members with keys, a state, and a clock.
type world struct {
	t       *testing.T
	s       *State
	keys    map[string]ed25519.PrivateKey
	now     time.Time
	n       int
	entries []*truce.Entry
	rules   truce.Rules
}

var members = []struct{ id, role, party string }{
	{"af-1", truce.RoleParty, "AF"},
	{"af-2", truce.RoleParty, "AF"},
	{"pk-1", truce.RoleParty, "PK"},
	{"tr-1", truce.RoleMediator, ""},
	{"qa-1", truce.RoleMediator, ""},
	{"mon-1", truce.RoleMonitor, ""},
	{"mon-2", truce.RoleMonitor, ""},
}

func key(id string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("truce test key " + id))
	return ed25519.NewKeyFromSeed(seed[:])
}

func newWorld(t *testing.T) *world {
	w := &world{
		t: t, s: New(origin), keys: map[string]ed25519.PrivateKey{},
		now: time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC),
		rules: truce.Rules{ReplyWindow: "72h", Verification: truce.Verification{
			Roles: []string{truce.RoleMediator}, Quorum: 2, Agreement: truce.AgreementUnanimous}},
	}
	for _, m := range members {
		w.keys[m.id] = key(m.id)
	}
	return w
}

func (w *world) members() []truce.Member {
	var out []truce.Member
	for _, m := range members {
		out = append(out, truce.Member{ID: m.id, Name: "Member " + m.id, Role: m.role, Party: m.party,
			Keys: []string{truce.EncodePublicKey(w.keys[m.id].Public().(ed25519.PublicKey))}})
	}
	return out
}

func (w *world) charter() *truce.Charter {
	return &truce.Charter{
		Title:   "Test ceasefire",
		Parties: []truce.Party{{ID: "AF", Name: "Afghanistan"}, {ID: "PK", Name: "Pakistan"}},
		Members: w.members(),
		Clauses: []truce.Clause{
			{ID: "C1", Text: "No cross-border attacks.", Consequence: "Referral to the guarantors."},
			{ID: "C2", Text: "Act against armed groups."},
		},
		Rules:     w.rules,
		Languages: []string{"en"},
	}
}

var allSigners = []string{"af-1", "af-2", "pk-1", "tr-1", "qa-1"}

// entry builds a signed entry round-tripped through the wire format.
func (w *world) entry(author, typ string, body any, signers ...string) *truce.Entry {
	w.t.Helper()
	w.n++
	st := &truce.Statement{Type: typ, ID: fmt.Sprintf("s-%04d", w.n), Mechanism: origin, Author: author, Time: w.now}
	return w.entryFor(st, body, signers...)
}

func (w *world) entryFor(st *truce.Statement, body any, signers ...string) *truce.Entry {
	w.t.Helper()
	if len(signers) == 0 {
		signers = []string{st.Author}
	}
	env, err := truce.SignStatement(st, body, w.keys[signers[0]])
	if err != nil {
		w.t.Fatal(err)
	}
	for _, s := range signers[1:] {
		env.Sign(w.keys[s])
	}
	data, err := truce.MarshalEntry(w.now, env)
	if err != nil {
		w.t.Fatal(err)
	}
	e, err := truce.ParseEntry(data)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

func (w *world) apply(e *truce.Entry) Verdict {
	w.entries = append(w.entries, e)
	return w.s.Apply(w.s.Next(), e, nil)
}

// must applies a statement that must be accepted and returns its id.
func (w *world) must(author, typ string, body any, signers ...string) string {
	w.t.Helper()
	e := w.entry(author, typ, body, signers...)
	if v := w.apply(e); !v.Accepted {
		w.t.Fatalf("%s by %s rejected: %v", typ, author, v.Err)
	}
	return e.Statement.ID
}

// mustFail applies a statement that must be rejected with kind.
func (w *world) mustFail(kind error, author, typ string, body any, signers ...string) error {
	w.t.Helper()
	e := w.entry(author, typ, body, signers...)
	if err := w.s.Check(e, nil); err == nil || !errors.Is(err, kind) {
		w.t.Fatalf("Check(%s by %s) = %v, want %v", typ, author, err, kind)
	}
	v := w.apply(e)
	if v.Accepted || !errors.Is(v.Err, kind) {
		w.t.Fatalf("%s by %s: verdict %+v, want rejected with %v", typ, author, v, kind)
	}
	return v.Err
}

func (w *world) genesis() {
	w.t.Helper()
	w.must("tr-1", truce.TypeCharter, w.charter(), append([]string{"tr-1"}, "af-1", "af-2", "pk-1", "qa-1")...)
}

func (w *world) advance(d time.Duration) { w.now = w.now.Add(d) }

func ptr[T any](v T) *T { return &v }

func incident(origin, against string) *truce.IncidentReport {
	return &truce.IncidentReport{
		OccurredAt: "2025-11-06", TimePrecision: 1,
		Location:  truce.Location{Lat: ptr(34.1), Lon: ptr(71.1), GeoPrecision: 1, Place: "Torkham", Admin1: "Nangarhar", Country: "Afghanistan"},
		EventType: "Explosions/Remote violence", SubEventType: "Shelling/artillery/missile attack",
		AllegedOrigin: origin, Against: against, Clauses: []string{"C1"},
		Fatalities: ptr(2), Injured: ptr(5), Narrative: "Shells landed near the crossing.", Sources: []string{"monitor team 3"},
	}
}

func vote(subject, question, answer string) *truce.Assessment {
	a := &truce.Assessment{Subject: subject, Question: question, Answer: answer, Rationale: "seen on site"}
	if question == truce.QuestionViolation && answer == truce.AnswerYes {
		a.Severity = truce.SeveritySerious
	}
	return a
}

func (w *world) question(subject, q string) *Question {
	w.t.Helper()
	sub := w.s.Subject(subject)
	if sub == nil {
		w.t.Fatalf("no subject %s", subject)
	}
	return sub.Questions[q]
}

func (w *world) wantStatus(subject, q, status string) {
	w.t.Helper()
	if got := w.question(subject, q).Status; got != status {
		w.t.Fatalf("%s of %s is %s, want %s", q, subject, got, status)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

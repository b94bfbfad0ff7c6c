package audit_test

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/audit"
	"github.com/truce-mechanism/truce/internal/ledger"
	"github.com/truce-mechanism/truce/internal/server"
)

const testOrigin = "truce.example/audit-test"

type member struct{ id, role, party string }

var testMembers = []member{
	{"af-1", truce.RoleParty, "AF"}, {"pk-1", truce.RoleParty, "PK"},
	{"tr-1", truce.RoleMediator, ""}, {"qa-1", truce.RoleMediator, ""}, {"mon-1", truce.RoleMonitor, ""},
}

// charterSigners are the members who must sign a charter or amendment.
var charterSigners = []string{"af-1", "pk-1", "qa-1"}

func testKey(id string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("audit test " + id))
	return ed25519.NewKeyFromSeed(seed[:])
}

// fixture is a mechanism served on loopback from a temporary data folder.
type fixture struct {
	t    testing.TB
	dir  string
	info *server.Info
	srv  *server.Server
	ts   *httptest.Server
	now  atomic.Int64 // the server's clock, in Unix milliseconds
	n    int
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	skey, _, err := ledger.GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return newFixtureWithKey(t, skey)
}

// newFixtureWithKey is newFixture with a given log key: two fixtures with
// one key are two forks of one log.
func newFixtureWithKey(t testing.TB, skey string) *fixture {
	t.Helper()
	dir := t.TempDir()
	info, err := server.InitWithKey(dir, skey)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, info: info}
	f.now.Store(time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC).UnixMilli())
	f.open()
	return f
}

func (f *fixture) open() {
	f.t.Helper()
	srv, err := server.Open(context.Background(), server.Config{
		Dir: f.dir, BatchMaxAge: 5 * time.Millisecond,
		Now: func() time.Time { return time.UnixMilli(f.now.Load()).UTC() },
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.srv = srv
	f.ts = httptest.NewServer(srv.Handler())
	f.t.Cleanup(func() {
		f.ts.Close()
		if err := srv.Close(context.Background()); err != nil {
			f.t.Error(err)
		}
	})
}

// advance moves the server's clock on.
func (f *fixture) advance(d time.Duration) { f.now.Add(d.Milliseconds()) }

// envelope signs a statement by author, co-signed by cosigners; its id is
// id, or a fresh one when id is empty.
func (f *fixture) envelope(id, author, typ string, body any, cosigners ...string) *truce.Envelope {
	f.t.Helper()
	if id == "" {
		f.n++
		id = fmt.Sprintf("st-%d", f.n)
	}
	st := &truce.Statement{Type: typ, ID: id, Mechanism: testOrigin, Author: author, Time: time.UnixMilli(f.now.Load()).UTC()}
	env, err := truce.SignStatement(st, body, testKey(author))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range cosigners {
		env.Sign(testKey(s))
	}
	return env
}

// post submits an envelope and wants it logged and accepted.
func (f *fixture) post(env *truce.Envelope) uint64 {
	f.t.Helper()
	b, _ := env.MarshalJSON()
	resp, err := http.Post(f.ts.URL+"/v1/statements", "application/json", bytes.NewReader(b))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Index   *uint64 `json:"index"`
		Verdict struct {
			Accepted bool `json:"accepted"`
		} `json:"verdict"`
	}
	if err := json.Unmarshal(body, &r); err != nil || resp.StatusCode != http.StatusCreated || r.Index == nil || !r.Verdict.Accepted {
		f.t.Fatalf("POST %s: %d %s", env.Payload, resp.StatusCode, body)
	}
	return *r.Index
}

// settle waits until the server has applied every logged entry and
// published a checkpoint of them all.
func (f *fixture) settle() uint64 {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	size, err := f.srv.Ledger.Size(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	for f.srv.Mechanism.Next() < size {
		select {
		case <-ctx.Done():
			f.t.Fatalf("the server applied %d of %d entries", f.srv.Mechanism.Next(), size)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := f.srv.Ledger.WaitPublished(ctx, size); err != nil {
		f.t.Fatal(err)
	}
	return size
}

// audit runs an audit of the fixture's server.
func (f *fixture) audit(url string) *audit.Report {
	f.t.Helper()
	r, err := audit.Run(context.Background(), audit.Config{Server: url, LogKey: f.info.LogKey, SettleWait: 50 * time.Millisecond})
	if err != nil {
		f.t.Fatalf("audit: %v", err)
	}
	return r
}

func ptr[T any](v T) *T { return &v }

func charter(window string) *truce.Charter {
	var ms []truce.Member
	for _, m := range testMembers {
		ms = append(ms, truce.Member{ID: m.id, Name: "Member " + m.id, Role: m.role, Party: m.party,
			Keys: []string{truce.EncodePublicKey(testKey(m.id).Public().(ed25519.PublicKey))}})
	}
	return &truce.Charter{
		Title:   "Audit test",
		Parties: []truce.Party{{ID: "AF", Name: "Afghanistan"}, {ID: "PK", Name: "Pakistan"}},
		Members: ms,
		Clauses: []truce.Clause{
			{ID: "C1", Text: "No cross-border attacks.", Consequence: "Referral to the guarantors."},
			{ID: "C2", Text: "Act against armed groups."},
		},
		Rules: truce.Rules{ReplyWindow: window, Verification: truce.Verification{
			Roles: []string{truce.RoleMediator}, Quorum: 2, Agreement: truce.AgreementUnanimous}},
		Languages: []string{"en"},
	}
}

func incident(origin, against string) *truce.IncidentReport {
	return &truce.IncidentReport{
		OccurredAt: "2025-11-06", TimePrecision: 1,
		Location:  truce.Location{Lat: ptr(34.1), Lon: ptr(71.1), GeoPrecision: 1, Place: "Torkham", Admin1: "Nangarhar", Country: "Afghanistan"},
		EventType: "Battles", SubEventType: "Armed clash", AllegedOrigin: origin, Against: against,
		Clauses: []string{"C1"}, Fatalities: ptr(0), Injured: ptr(1), Narrative: "Exchange of fire at the crossing.", Sources: []string{},
	}
}

func vote(subject, question, answer, severity string) *truce.Assessment {
	return &truce.Assessment{Subject: subject, Question: question, Answer: answer, Severity: severity, Rationale: "Seen by the team."}
}

// scenario is a small mechanism's life: a charter, incidents with
// replies, evidence, votes that decide, dispute and leave questions open,
// a compliance action, a denial of access, a withdrawal and a charter
// amendment. It returns the log indexes of a few statements by name.
func (f *fixture) scenario() map[string]uint64 {
	at := map[string]uint64{}
	at["charter"] = f.post(f.envelope("", "tr-1", truce.TypeCharter, charter("72h"), charterSigners...))
	at["inc-1"] = f.post(f.envelope("inc-1", "af-1", truce.TypeIncident, incident("PK", "AF")))
	at["inc-2"] = f.post(f.envelope("inc-2", "mon-1", truce.TypeIncident, incident("unknown", "PK")))
	f.post(f.envelope("", "pk-1", truce.TypeReply, &truce.Reply{Subject: "inc-1", Text: "Our posts did not fire.", Contests: []string{"origin"}}))
	for _, m := range []string{"tr-1", "qa-1"} {
		f.post(f.envelope("", m, truce.TypeAssessment, vote("inc-1", "occurred", "yes", "")))
		f.post(f.envelope("", m, truce.TypeAssessment, vote("inc-1", "origin", "PK", "")))
		f.post(f.envelope("", m, truce.TypeAssessment, vote("inc-1", "duplicate_of", "none", "")))
	}
	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-1", "violation", "yes", "serious")))
	f.post(f.envelope("", "qa-1", truce.TypeAssessment, vote("inc-1", "violation", "yes", "minor")))
	at["af-vote"] = f.post(f.envelope("", "af-1", truce.TypeAssessment, vote("inc-1", "origin", "PK", "")))
	f.post(f.envelope("", "mon-1", truce.TypeEvidence, &truce.EvidenceAdd{Subject: "inc-2",
		SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte("photo"))), Size: 5, MediaType: "image/jpeg", Name: "crater.jpg", Description: "The crater."}))
	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("inc-2", "occurred", "yes", "")))
	f.post(f.envelope("", "qa-1", truce.TypeAssessment, vote("inc-2", "occurred", "no", "")))
	at["act-1"] = f.post(f.envelope("act-1", "pk-1", truce.TypeAction, &truce.ActionReport{Clause: "C2", TakenAt: "2025-11-06", Description: "Closed a camp."}))
	f.post(f.envelope("", "mon-1", truce.TypeAccessDenied, &truce.AccessDenied{Party: "PK", Place: "Chaman", At: "2025-11-07", Description: "Turned back at the checkpoint."}))

	// The reply windows close on the log's clock.
	f.advance(73 * time.Hour)
	at["inc-3"] = f.post(f.envelope("inc-3", "pk-1", truce.TypeIncident, incident("AF", "PK")))
	f.post(f.envelope("", "tr-1", truce.TypeAssessment, vote("act-1", "verified", "yes", "")))
	at["decides-act-1"] = f.post(f.envelope("", "qa-1", truce.TypeAssessment, vote("act-1", "verified", "yes", "")))
	f.post(f.envelope("", "pk-1", truce.TypeWithdraw, &truce.Withdraw{Subject: "inc-3", Reason: "Reported in error."}))
	amend := &truce.CharterAmend{Version: 2, Members: charter("48h").Members, Clauses: charter("48h").Clauses, Rules: charter("48h").Rules}
	at["amend"] = f.post(f.envelope("", "tr-1", truce.TypeCharterAmend, amend, charterSigners...))
	at["inc-4"] = f.post(f.envelope("inc-4", "af-1", truce.TypeIncident, incident("PK", "AF")))
	return at
}

// problems lists a report's problems, one a line, for failure messages.
func problems(r *audit.Report) string {
	var b bytes.Buffer
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "\n\t%s", p)
	}
	return b.String()
}

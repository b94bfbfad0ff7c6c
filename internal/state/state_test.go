package state

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
)

func TestGenesis(t *testing.T) {
	t.Run("needs every party and mediator", func(t *testing.T) {
		w := newWorld(t)
		err := w.mustFail(ErrForbidden, "tr-1", truce.TypeCharter, w.charter(), "tr-1", "af-1", "af-2", "qa-1")
		if !strings.Contains(err.Error(), "pk-1") {
			t.Errorf("error %q does not name the missing signer pk-1", err)
		}
		if w.s.Charter() != nil {
			t.Fatal("a rejected charter was adopted")
		}
	})
	t.Run("monitors need not sign", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		c := w.s.Charter()
		if c.Version != 1 || len(c.Signers) != 5 {
			t.Fatalf("charter version %d signers %v", c.Version, c.Signers)
		}
	})
	t.Run("second charter", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		w.mustFail(ErrForbidden, "tr-1", truce.TypeCharter, w.charter(), allSigners...)
	})
	t.Run("statements before the charter", func(t *testing.T) {
		w := newWorld(t)
		w.mustFail(ErrForbidden, "af-1", truce.TypeIncident, incident("PK", "AF"))
	})
	t.Run("author outside the charter", func(t *testing.T) {
		w := newWorld(t)
		w.keys["x-1"] = key("x-1")
		w.mustFail(ErrForbidden, "x-1", truce.TypeCharter, w.charter(), "x-1", "tr-1", "af-1", "af-2", "pk-1", "qa-1")
	})
	t.Run("party member without party", func(t *testing.T) {
		w := newWorld(t)
		c := w.charter()
		c.Members[0].Party = ""
		w.mustFail(ErrMalformed, "tr-1", truce.TypeCharter, c, allSigners...)
		c = w.charter()
		c.Members[3].Party = "AF" // a mediator given a party
		w.mustFail(ErrMalformed, "tr-1", truce.TypeCharter, c, allSigners...)
	})
}

func TestAttacks(t *testing.T) {
	t.Run("non-member votes", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		id := w.must("af-1", truce.TypeIncident, incident("PK", "AF"))
		w.keys["x-1"] = key("x-1")
		w.mustFail(ErrForbidden, "x-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
	})
	t.Run("signing for another member", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		id := w.must("af-1", truce.TypeIncident, incident("PK", "AF"))
		// pk-1's key signs a vote that claims tr-1 as its author.
		w.mustFail(ErrSignature, "tr-1", truce.TypeAssessment, vote(id, "occurred", "no"), "pk-1")
		// A stranger's key.
		w.keys["x-1"] = key("x-1")
		w.mustFail(ErrSignature, "tr-1", truce.TypeAssessment, vote(id, "occurred", "no"), "x-1")
	})
	t.Run("a signature that does not verify", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		e := w.entry("af-1", truce.TypeIncident, incident("PK", "AF"))
		e.Envelope.Signatures[0].Sig[0] ^= 1
		if v := w.apply(e); v.Accepted || !strings.Contains(v.Err.Error(), "does not verify") {
			t.Fatalf("verdict %+v", v)
		}
	})
	t.Run("replay", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		e := w.entry("af-1", truce.TypeIncident, incident("PK", "AF"))
		if v := w.apply(e); !v.Accepted {
			t.Fatal(v.Err)
		}
		if v := w.apply(e); v.Accepted {
			t.Fatal("replayed statement accepted")
		}
	})
	t.Run("id taken by a rejected statement", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		bad := w.entry("af-1", truce.TypeIncident, incident("PK", "XX"))
		if v := w.apply(bad); v.Accepted {
			t.Fatal("incident against an unknown party accepted")
		}
		good := w.entryFor(&truce.Statement{Type: truce.TypeIncident, ID: bad.Statement.ID, Mechanism: origin, Author: "af-1", Time: w.now}, incident("PK", "AF"))
		if v := w.apply(good); v.Accepted {
			t.Fatal("statement reusing a rejected statement's id accepted")
		}
	})
	t.Run("another mechanism", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		e := w.entryFor(&truce.Statement{Type: truce.TypeIncident, ID: "other-1", Mechanism: "truce.example/other", Author: "af-1", Time: w.now}, incident("PK", "AF"))
		if v := w.apply(e); v.Accepted || !strings.Contains(v.Err.Error(), "truce.example/other") {
			t.Fatalf("verdict %+v", v)
		}
	})
	t.Run("reply from an uninterested party", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		// A mediator's report of an attack on AF from unknown origin: only AF is interested.
		id := w.must("tr-1", truce.TypeIncident, incident("unknown", "AF"))
		w.mustFail(ErrForbidden, "pk-1", truce.TypeReply, &truce.Reply{Subject: id, Text: "not us"})
		w.mustFail(ErrForbidden, "qa-1", truce.TypeReply, &truce.Reply{Subject: id, Text: "mediators do not reply"})
		w.must("af-1", truce.TypeReply, &truce.Reply{Subject: id, Text: "it happened"})
	})
	t.Run("deciding its own incident alone", func(t *testing.T) {
		w := newWorld(t)
		w.rules.Verification = truce.Verification{Roles: []string{truce.RoleParty, truce.RoleMediator}, Quorum: 1, Agreement: truce.AgreementMajority}
		w.genesis()
		id := w.must("af-1", truce.TypeIncident, incident("PK", "AF"))
		w.advance(73 * time.Hour)
		w.must("af-1", truce.TypeAssessment, vote(id, "origin", "PK"))
		w.must("af-2", truce.TypeAssessment, vote(id, "origin", "PK"))
		w.must("pk-1", truce.TypeAssessment, vote(id, "origin", "not_attributable"))
		w.wantStatus(id, "origin", StatusOpen)
		for _, v := range w.question(id, "origin").Votes {
			if v.Counted || !strings.Contains(v.Why, "interested") {
				t.Errorf("vote %+v counted or unexplained", v)
			}
		}
		w.must("tr-1", truce.TypeAssessment, vote(id, "origin", "PK"))
		w.wantStatus(id, "origin", StatusDecided)
	})
	t.Run("vote after the finding is final", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		id := w.must("mon-1", truce.TypeIncident, incident("PK", "AF"))
		w.advance(73 * time.Hour)
		w.must("tr-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		w.must("qa-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		w.wantStatus(id, "occurred", StatusDecided)
		err := w.mustFail(ErrConflict, "qa-1", truce.TypeAssessment, vote(id, "occurred", "no"))
		if !strings.Contains(err.Error(), "already decided") {
			t.Errorf("error %q", err)
		}
	})
	t.Run("charter change missing one signature", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		a := &truce.CharterAmend{Version: 2, Members: w.members(), Clauses: w.charter().Clauses, Rules: w.rules}
		err := w.mustFail(ErrForbidden, "tr-1", truce.TypeCharterAmend, a, "tr-1", "af-1", "af-2", "pk-1")
		if !strings.Contains(err.Error(), "qa-1") {
			t.Errorf("error %q does not name qa-1", err)
		}
		if w.s.Charter().Version != 1 {
			t.Fatal("charter changed")
		}
	})
	t.Run("monitor cannot amend or report actions", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		a := &truce.CharterAmend{Version: 2, Members: w.members(), Clauses: w.charter().Clauses, Rules: w.rules}
		w.mustFail(ErrForbidden, "mon-1", truce.TypeCharterAmend, a, append([]string{"mon-1"}, allSigners...)...)
		w.mustFail(ErrForbidden, "mon-1", truce.TypeAction, &truce.ActionReport{Clause: "C2", TakenAt: "2025-11-07", Description: "raid"})
		w.mustFail(ErrForbidden, "af-1", truce.TypeAccessDenied, &truce.AccessDenied{Party: "PK", Place: "Kurram", At: "2025-11-07", Description: "turned back"})
	})
}

func TestDecisionRule(t *testing.T) {
	t.Run("window closed by an unrelated entry", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		id := w.must("mon-1", truce.TypeIncident, incident("PK", "AF"))
		w.must("tr-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		w.must("qa-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		w.wantStatus(id, "occurred", StatusAwaitingReply)
		w.advance(72 * time.Hour)
		other := w.must("mon-2", truce.TypeIncident, incident("AF", "PK"))
		w.wantStatus(id, "occurred", StatusDecided)
		q := w.question(id, "occurred")
		if q.Answer != "yes" || *q.DecidedAt != w.s.Next()-1 {
			t.Fatalf("finding %+v decided at %d, want yes at %d", q, *q.DecidedAt, w.s.Next()-1)
		}
		w.wantStatus(id, "origin", StatusOpen)
		w.wantStatus(other, "occurred", StatusAwaitingReply)
	})
	t.Run("closing entry's own vote counts", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		id := w.must("mon-1", truce.TypeIncident, incident("PK", "AF"))
		w.must("tr-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		w.advance(80 * time.Hour)
		w.must("qa-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		w.wantStatus(id, "occurred", StatusDecided)
	})
	t.Run("window closed when every interested party replied", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		id := w.must("af-1", truce.TypeIncident, incident("PK", "AF"))
		w.must("tr-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		w.must("qa-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		w.must("pk-1", truce.TypeReply, &truce.Reply{Subject: id, Text: "we deny it", Contests: []string{"origin"}})
		w.wantStatus(id, "occurred", StatusAwaitingReply)
		w.must("af-2", truce.TypeReply, &truce.Reply{Subject: id, Text: "confirmed"})
		w.wantStatus(id, "occurred", StatusDecided)
		w.advance(100 * time.Hour)
		late := w.must("pk-1", truce.TypeReply, &truce.Reply{Subject: id, Text: "more"})
		sub := w.s.Subject(id)
		if r := sub.Replies[len(sub.Replies)-1]; r.StatementID != late || !r.Late {
			t.Fatalf("late reply %+v not marked late", r)
		}
		if sub.Replies[0].Late {
			t.Fatal("reply in the window marked late")
		}
	})
	t.Run("disputed, then a vote changes", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		id := w.must("mon-1", truce.TypeIncident, incident("PK", "AF"))
		w.advance(73 * time.Hour)
		w.must("tr-1", truce.TypeAssessment, vote(id, "origin", "PK"))
		w.wantStatus(id, "origin", StatusOpen)
		w.must("qa-1", truce.TypeAssessment, vote(id, "origin", "not_attributable"))
		w.wantStatus(id, "origin", StatusDisputed)
		w.must("qa-1", truce.TypeAssessment, vote(id, "origin", "PK"))
		w.wantStatus(id, "origin", StatusDecided)
		q := w.question(id, "origin")
		if len(q.Votes) != 2 || len(q.Votes[1].Replaced) != 1 {
			t.Fatalf("votes %+v: want two latest votes, qa-1's replacing one", q.Votes)
		}
	})
	t.Run("votes of roles the rules do not count", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		id := w.must("mon-1", truce.TypeIncident, incident("PK", "AF"))
		w.advance(73 * time.Hour)
		w.must("mon-1", truce.TypeAssessment, vote(id, "occurred", "no"))
		w.must("tr-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		w.must("qa-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		w.wantStatus(id, "occurred", StatusDecided)
		if v := w.question(id, "occurred").Votes[0]; v.Counted || v.Dissent {
			t.Fatalf("monitor's vote %+v", v)
		}
	})
	t.Run("answers are checked", func(t *testing.T) {
		w := newWorld(t)
		w.genesis()
		id := w.must("mon-1", truce.TypeIncident, incident("PK", "AF"))
		w.mustFail(ErrMalformed, "tr-1", truce.TypeAssessment, vote(id, "origin", "XX"))
		w.mustFail(ErrMalformed, "tr-1", truce.TypeAssessment, vote(id, "duplicate_of", id))
		w.mustFail(ErrMalformed, "tr-1", truce.TypeAssessment, vote(id, "verified", "yes"))
		w.mustFail(ErrMalformed, "tr-1", truce.TypeAssessment, &truce.Assessment{Subject: id, Question: "violation", Answer: "yes", Rationale: "r"})
		w.mustFail(ErrUnknownSubject, "tr-1", truce.TypeAssessment, vote("nope", "occurred", "yes"))
		other := w.must("mon-1", truce.TypeIncident, incident("PK", "AF"))
		w.must("tr-1", truce.TypeAssessment, vote(other, "duplicate_of", id))
	})
}

func TestAgreement(t *testing.T) {
	for _, tc := range []struct {
		rule   string
		votes  []string
		status string
	}{
		{truce.AgreementUnanimous, []string{"yes", "yes", "yes"}, StatusDecided},
		{truce.AgreementUnanimous, []string{"yes", "yes", "no"}, StatusDisputed},
		{truce.AgreementTwoThirds, []string{"yes", "yes", "no"}, StatusDecided},
		{truce.AgreementTwoThirds, []string{"yes", "no", "inconclusive"}, StatusDisputed},
		{truce.AgreementTwoThirds, []string{"yes", "yes", "no", "no"}, StatusDisputed},
		{truce.AgreementMajority, []string{"yes", "yes", "no"}, StatusDecided},
		{truce.AgreementMajority, []string{"yes", "no"}, StatusDisputed},
		{truce.AgreementMajority, []string{"yes", "yes", "no", "no"}, StatusDisputed},
		{truce.AgreementMajority, []string{"yes"}, StatusOpen},
	} {
		t.Run(tc.rule+"/"+strings.Join(tc.votes, ","), func(t *testing.T) {
			w := newWorld(t)
			w.rules.Verification = truce.Verification{Roles: []string{truce.RoleMediator, truce.RoleMonitor}, Quorum: max(2, len(tc.votes)), Agreement: tc.rule}
			w.genesis()
			id := w.must("af-1", truce.TypeIncident, incident("PK", "AF"))
			w.advance(73 * time.Hour)
			for i, v := range tc.votes {
				w.must([]string{"tr-1", "qa-1", "mon-1", "mon-2"}[i], truce.TypeAssessment, vote(id, "occurred", v))
			}
			w.wantStatus(id, "occurred", tc.status)
			if tc.status == StatusDecided {
				q := w.question(id, "occurred")
				dissent := 0
				for _, v := range q.Votes {
					if v.Dissent {
						dissent++
					}
				}
				want := 0
				for _, v := range tc.votes {
					if v != q.Answer {
						want++
					}
				}
				if dissent != want {
					t.Fatalf("%d dissenting votes kept, want %d", dissent, want)
				}
			}
		})
	}
}

func TestSeverity(t *testing.T) {
	for _, tc := range []struct {
		sev  []string
		want string
	}{
		{[]string{"minor", "minor", "serious"}, "minor"},
		{[]string{"minor", "serious"}, "serious"},
		{[]string{"serious", "serious", "minor"}, "serious"},
	} {
		w := newWorld(t)
		w.rules.Verification = truce.Verification{Roles: []string{truce.RoleMediator, truce.RoleMonitor}, Quorum: len(tc.sev), Agreement: truce.AgreementUnanimous}
		w.genesis()
		id := w.must("af-1", truce.TypeIncident, incident("PK", "AF"))
		w.advance(73 * time.Hour)
		for i, s := range tc.sev {
			a := vote(id, "violation", "yes")
			a.Severity = s
			w.must([]string{"tr-1", "qa-1", "mon-1"}[i], truce.TypeAssessment, a)
		}
		if q := w.question(id, "violation"); q.Status != StatusDecided || q.Severity != tc.want {
			t.Errorf("severities %v: finding %s/%s, want decided/%s", tc.sev, q.Status, q.Severity, tc.want)
		}
	}
}

func TestAmendment(t *testing.T) {
	w := newWorld(t)
	w.genesis()
	id := w.must("mon-1", truce.TypeIncident, incident("PK", "AF"))
	w.advance(73 * time.Hour)
	w.must("tr-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
	w.must("qa-1", truce.TypeAssessment, vote(id, "occurred", "no"))
	w.wantStatus(id, "occurred", StatusDisputed)

	// Remove qa-1 and let monitors count, with a majority rule.
	ms := w.members()
	ms = append(ms[:4], ms[5:]...)
	a := &truce.CharterAmend{Version: 3, Members: ms, Clauses: w.charter().Clauses, Rules: truce.Rules{ReplyWindow: "24h",
		Verification: truce.Verification{Roles: []string{truce.RoleMediator, truce.RoleMonitor}, Quorum: 2, Agreement: truce.AgreementMajority}}}
	w.mustFail(ErrConflict, "tr-1", truce.TypeCharterAmend, a, allSigners...)
	a.Version = 2
	w.must("tr-1", truce.TypeCharterAmend, a, allSigners...)
	if c := w.s.Charter(); c.Version != 2 || c.Member("qa-1") != nil || len(w.s.Charters()) != 2 {
		t.Fatalf("charter after amendment: %+v", c)
	}
	w.wantStatus(id, "occurred", StatusOpen) // qa-1 no longer counts
	if v := w.question(id, "occurred").Votes[1]; v.Counted || !strings.Contains(v.Why, "no longer") {
		t.Fatalf("removed member's vote %+v", v)
	}
	w.mustFail(ErrForbidden, "qa-1", truce.TypeAssessment, vote(id, "origin", "PK"))
	w.must("mon-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
	w.wantStatus(id, "occurred", StatusDecided)

	// The window of a subject logged before the amendment keeps its length.
	if d := w.s.Subject(id).Deadline.Sub(w.s.Subject(id).Received); d != 72*time.Hour {
		t.Fatalf("old subject's window %v, want 72h", d)
	}
	id2 := w.must("mon-1", truce.TypeIncident, incident("PK", "AF"))
	if d := w.s.Subject(id2).Deadline.Sub(w.s.Subject(id2).Received); d != 24*time.Hour {
		t.Fatalf("new subject's window %v, want 24h", d)
	}
}

func TestWithdraw(t *testing.T) {
	w := newWorld(t)
	w.genesis()
	id := w.must("af-1", truce.TypeIncident, incident("PK", "AF"))
	w.advance(73 * time.Hour)
	w.must("tr-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
	w.must("qa-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
	w.mustFail(ErrForbidden, "af-2", truce.TypeWithdraw, &truce.Withdraw{Subject: id, Reason: "not mine"})
	w.must("af-1", truce.TypeWithdraw, &truce.Withdraw{Subject: id, Reason: "misreported"})
	w.wantStatus(id, "occurred", StatusDecided)
	w.wantStatus(id, "origin", StatusWithdrawn)
	if s := w.s.Subject(id).Status(); s != StatusWithdrawn {
		t.Fatalf("status %s", s)
	}
	w.mustFail(ErrForbidden, "tr-1", truce.TypeAssessment, vote(id, "origin", "PK"))
	w.mustFail(ErrForbidden, "pk-1", truce.TypeReply, &truce.Reply{Subject: id, Text: "x"})
	w.mustFail(ErrForbidden, "mon-1", truce.TypeEvidence, evidence(id))
	w.mustFail(ErrForbidden, "af-1", truce.TypeWithdraw, &truce.Withdraw{Subject: id, Reason: "again"})
}

func evidence(subject string) *truce.EvidenceAdd {
	return &truce.EvidenceAdd{Subject: subject, SHA256: strings.Repeat("ab", 32), Size: 1024, MediaType: "image/jpeg", Name: "crater.jpg", Description: "crater"}
}

func TestCompliance(t *testing.T) {
	w := newWorld(t)
	w.genesis()
	decide := func(id string, answers map[string]string) {
		for q, a := range answers {
			w.must("tr-1", truce.TypeAssessment, vote(id, q, a))
			w.must("qa-1", truce.TypeAssessment, vote(id, q, a))
		}
	}
	i1 := w.must("af-1", truce.TypeIncident, incident("PK", "AF"))
	i2 := w.must("pk-1", truce.TypeIncident, incident("AF", "PK"))
	i3 := w.must("mon-1", truce.TypeIncident, incident("unknown", "PK"))
	i4 := w.must("af-1", truce.TypeIncident, incident("PK", "AF"))
	a1 := w.must("pk-1", truce.TypeAction, &truce.ActionReport{Clause: "C2", TakenAt: "2025-11-08", Description: "closed a camp"})
	w.must("tr-1", truce.TypeAccessDenied, &truce.AccessDenied{Party: "AF", Place: "Spin Boldak", At: "2025-11-08", Description: "turned back"})
	w.must("mon-1", truce.TypeEvidence, evidence(i1))
	w.advance(73 * time.Hour)
	decide(i1, map[string]string{"violation": "yes", "origin": "PK"})
	decide(i2, map[string]string{"violation": "no"})
	decide(i3, map[string]string{"violation": "yes"})
	decide(i4, map[string]string{"violation": "yes", "origin": "PK", "duplicate_of": i1})
	decide(a1, map[string]string{"verified": "yes"})
	c := w.s.Compliance()
	pk := c.Parties[1]
	if pk.Party != "PK" || pk.Violations != 1 || pk.Serious != 1 || pk.VerifiedActions != 1 {
		t.Fatalf("PK tally %+v", pk)
	}
	if af := c.Parties[0]; af.Violations != 0 || af.AccessDenials != 1 {
		t.Fatalf("AF tally %+v", af)
	}
	if len(c.Unattributed) != 1 || c.Unattributed[0].Violations != 1 || c.Unattributed[0].Incidents[0] != i3 {
		t.Fatalf("unattributed %+v", c.Unattributed)
	}
	if pk.Clauses[0].Consequence == "" {
		t.Fatalf("clause consequence not carried: %+v", pk.Clauses[0])
	}
}

func TestCheckChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.genesis()
	id := w.must("af-1", truce.TypeIncident, incident("PK", "AF"))
	before := MarshalCanonical(w.s.Subject(id))
	e := w.entry("tr-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
	if err := w.s.Check(e, nil); err != nil {
		t.Fatal(err)
	}
	if after := MarshalCanonical(w.s.Subject(id)); !bytes.Equal(before, after) {
		t.Fatal("Check changed the subject")
	}
	if _, seen := w.s.Seen(e.Statement.ID); seen {
		t.Fatal("Check took the id")
	}
}

// TestReplay checks that the state is a pure function of the log: a
// fresh replay, and a restore from saved changes followed by the rest of
// the log, both give the same state.
func TestReplay(t *testing.T) {
	w := newWorld(t)
	w.genesis()
	var subjects []string
	for i := 0; i < 12; i++ {
		author := []string{"af-1", "pk-1", "mon-1"}[i%3]
		from, to := "PK", "AF"
		if i%2 == 1 {
			from, to = "AF", "PK"
		}
		subjects = append(subjects, w.must(author, truce.TypeIncident, incident(from, to)))
		w.advance(7 * time.Hour)
	}
	for i, id := range subjects {
		w.must("tr-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		if i%3 != 0 {
			w.must("qa-1", truce.TypeAssessment, vote(id, "occurred", "yes"))
		}
		w.advance(5 * time.Hour)
	}
	half := len(w.entries) / 2

	fresh := New(origin)
	saved := New(origin)
	var charters []*Charter
	var denials []*AccessDenial
	subs := map[string][]byte{}
	for i, e := range w.entries {
		fresh.Apply(uint64(i), e, nil)
		if i < half {
			saved.Apply(uint64(i), e, nil)
			ch := saved.TakeChanges()
			charters = append(charters, ch.Charters...)
			denials = append(denials, ch.AccessDenials...)
			for _, s := range ch.Subjects {
				subs[s.ID] = MarshalCanonical(s)
			}
		}
	}
	var restored []*Subject
	for _, b := range subs {
		var s Subject
		if err := jsonUnmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		restored = append(restored, &s)
	}
	ids := map[string]uint64{}
	for i, e := range w.entries[:half] {
		if _, ok := ids[e.Statement.ID]; !ok {
			ids[e.Statement.ID] = uint64(i)
		}
	}
	r := Restore(origin, saved.Next(), saved.Clock(), charters, restored, denials, ids)
	for i, e := range w.entries[half:] {
		r.Apply(uint64(half+i), e, nil)
	}
	for _, got := range []*State{fresh, r} {
		if a, b := MarshalCanonical(got.Subjects()), MarshalCanonical(w.s.Subjects()); !bytes.Equal(a, b) {
			t.Fatalf("replayed subjects differ:\n%s\n%s", a, b)
		}
		if a, b := MarshalCanonical(got.Compliance()), MarshalCanonical(w.s.Compliance()); !bytes.Equal(a, b) {
			t.Fatal("replayed compliance differs")
		}
	}
	decided := 0
	for _, s := range w.s.Subjects() {
		if s.Questions["occurred"].Status == StatusDecided {
			decided++
		}
	}
	if decided == 0 || decided == len(subjects) {
		t.Fatalf("%d of %d decided: the scenario should decide some and not others", decided, len(subjects))
	}
}

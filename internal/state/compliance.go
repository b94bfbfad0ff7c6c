package state

import (
	"sort"

	"github.com/truce-mechanism/truce"
)

// Compliance is the tally of findings per party and clause.
//
// A confirmed violation is an incident, not withdrawn and not found a
// duplicate of another, whose violation question was decided yes. It is
// counted against the party its origin finding names; while the origin is
// undecided, not attributable or inconclusive, it is counted as
// unattributed. A verified action is an action decided verified yes.
type Compliance struct {
	Parties []PartyCompliance `json:"parties"`
	// Unattributed counts confirmed violations whose origin no finding names.
	Unattributed []ClauseTally `json:"unattributed"`
}

// PartyCompliance is one party's record.
type PartyCompliance struct {
	Party   string        `json:"party"`
	Name    string        `json:"name"`
	Clauses []ClauseTally `json:"clauses"`
	// Violations, Serious and VerifiedActions sum the clauses.
	Violations      int `json:"violations"`
	Serious         int `json:"serious"`
	VerifiedActions int `json:"verified_actions"`
	// AccessDenials counts accepted access.denied statements against the party.
	AccessDenials int `json:"access_denials"`
}

// ClauseTally is the findings under one clause.
type ClauseTally struct {
	Clause      string `json:"clause"`
	Consequence string `json:"consequence,omitempty"`
	// Violations is the confirmed violations; Serious and Minor split them.
	Violations int      `json:"violations"`
	Serious    int      `json:"serious"`
	Minor      int      `json:"minor"`
	Incidents  []string `json:"incidents"`
	// VerifiedActions and UnverifiedActions count actions decided yes and no.
	VerifiedActions   int      `json:"verified_actions"`
	UnverifiedActions int      `json:"unverified_actions"`
	Actions           []string `json:"actions"`
}

// Compliance computes the tallies from the current state.
func (s *State) Compliance() *Compliance {
	c := s.Charter()
	out := &Compliance{Parties: []PartyCompliance{}, Unattributed: []ClauseTally{}}
	if c == nil {
		return out
	}
	tallies := map[string]map[string]*ClauseTally{}
	tally := func(party, clause string) *ClauseTally {
		if tallies[party] == nil {
			tallies[party] = map[string]*ClauseTally{}
		}
		t := tallies[party][clause]
		if t == nil {
			t = &ClauseTally{Clause: clause, Incidents: []string{}, Actions: []string{}}
			if cl := c.Clause(clause); cl != nil {
				t.Consequence = cl.Consequence
			}
			tallies[party][clause] = t
		}
		return t
	}
	// The map's order is random; the lists are put in log order below.
	for _, sub := range s.subjects {
		if sub.Withdrawn != nil {
			continue
		}
		switch sub.Kind {
		case "incident":
			v := sub.Questions[truce.QuestionViolation]
			if v.Status != StatusDecided || v.Answer != truce.AnswerYes {
				continue
			}
			if d := sub.Questions[truce.QuestionDuplicateOf]; d.Status == StatusDecided && d.Answer != truce.AnswerNone {
				continue
			}
			party := ""
			if o := sub.Questions[truce.QuestionOrigin]; o.Status == StatusDecided && c.HasParty(o.Answer) {
				party = o.Answer
			}
			r := sub.Incident()
			if r == nil {
				continue
			}
			for _, clause := range r.Clauses {
				t := tally(party, clause)
				t.Violations++
				if v.Severity == truce.SeveritySerious {
					t.Serious++
				} else {
					t.Minor++
				}
				t.Incidents = append(t.Incidents, sub.ID)
			}
		case "action":
			v := sub.Questions[truce.QuestionVerified]
			r := sub.Action()
			if v.Status != StatusDecided || r == nil {
				continue
			}
			t := tally(sub.Party, r.Clause)
			switch v.Answer {
			case truce.AnswerYes:
				t.VerifiedActions++
				t.Actions = append(t.Actions, sub.ID)
			case truce.AnswerNo:
				t.UnverifiedActions++
			}
		}
	}
	byIndex := func(ids []string) {
		sort.Slice(ids, func(i, j int) bool { return s.subjects[ids[i]].Index < s.subjects[ids[j]].Index })
	}
	for _, clauses := range tallies {
		for _, t := range clauses {
			byIndex(t.Incidents)
			byIndex(t.Actions)
		}
	}
	denied := map[string]int{}
	for _, d := range s.denials {
		denied[d.Party]++
	}
	for _, p := range c.Parties {
		pc := PartyCompliance{Party: p.ID, Name: p.Name, Clauses: []ClauseTally{}, AccessDenials: denied[p.ID]}
		for _, cl := range c.Clauses {
			if t := tallies[p.ID][cl.ID]; t != nil {
				pc.Clauses = append(pc.Clauses, *t)
				pc.Violations += t.Violations
				pc.Serious += t.Serious
				pc.VerifiedActions += t.VerifiedActions
			}
		}
		out.Parties = append(out.Parties, pc)
	}
	var un []string
	for clause := range tallies[""] {
		un = append(un, clause)
	}
	sort.Strings(un)
	for _, clause := range un {
		out.Unattributed = append(out.Unattributed, *tallies[""][clause])
	}
	return out
}

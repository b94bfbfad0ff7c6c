package state

import (
	"fmt"
	"slices"
	"sort"

	"github.com/truce-mechanism/truce"
)

// evaluate re-evaluates every question of a subject at log index index.
func (s *State) evaluate(sub *Subject, index uint64) {
	names := make([]string, 0, len(sub.Questions))
	for name := range sub.Questions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s.evaluateQuestion(sub, sub.Questions[name], name, index)
	}
	s.touch(sub)
}

// evaluateQuestion applies SPEC.md's decision rule to one question: once
// the reply window is closed, at least quorum counted votes that meet the
// agreement decide it, finally; counted votes that do not make it
// disputed; fewer than quorum leave it open.
func (s *State) evaluateQuestion(sub *Subject, q *Question, name string, index uint64) {
	if q.Status == StatusDecided || q.Status == StatusWithdrawn {
		return
	}
	c := s.Charter()
	rules := c.Rules.Verification
	counted := 0
	tally := map[string]int{}
	for i := range q.Votes {
		v := &q.Votes[i]
		v.Counted, v.Why = s.counts(sub, c, v.Member)
		if v.Counted {
			counted++
			tally[v.Answer]++
		}
	}
	if sub.WindowClosedAt == nil {
		q.Status = StatusAwaitingReply
		return
	}
	if counted < rules.Quorum {
		q.Status = StatusOpen
		return
	}
	answer, n := "", 0
	for a, k := range tally {
		if k > n || (k == n && a < answer) {
			answer, n = a, k
		}
	}
	if !agrees(rules.Agreement, n, counted) {
		q.Status = StatusDisputed
		return
	}
	q.Status, q.Answer = StatusDecided, answer
	i := index
	q.DecidedAt = &i
	yes := map[string]int{}
	for j := range q.Votes {
		v := &q.Votes[j]
		if v.Counted && v.Answer != answer {
			v.Dissent = true
		}
		if v.Counted && v.Answer == truce.AnswerYes {
			yes[v.Severity]++
		}
	}
	if name == truce.QuestionViolation && answer == truce.AnswerYes {
		q.Severity = truce.SeveritySerious
		if yes[truce.SeverityMinor] > yes[truce.SeveritySerious] {
			q.Severity = truce.SeverityMinor
		}
	}
	if name == truce.QuestionViolation || name == truce.QuestionVerified || name == truce.QuestionOrigin || name == truce.QuestionDuplicateOf {
		s.changes.compliance = true
	}
}

// counts says whether the rules in force count member's vote on sub, and
// if not, why.
func (s *State) counts(sub *Subject, c *Charter, member string) (bool, string) {
	m := c.Member(member)
	if m == nil {
		return false, fmt.Sprintf("%s is no longer a member", member)
	}
	rules := c.Rules.Verification
	if !slices.Contains(rules.Roles, m.Role) {
		return false, fmt.Sprintf("the rules do not count votes of a %s", m.Role)
	}
	if !rules.CountInterested && m.Party != "" && sub.interested(m.Party) {
		return false, fmt.Sprintf("%s is a member of %s, an interested party", member, m.Party)
	}
	return true, ""
}

// agrees applies an agreement rule to n votes for the leading answer out
// of counted.
func agrees(rule string, n, counted int) bool {
	switch rule {
	case truce.AgreementUnanimous:
		return n == counted
	case truce.AgreementTwoThirds:
		return 3*n >= 2*counted
	case truce.AgreementMajority:
		return 2*n > counted
	}
	return false
}

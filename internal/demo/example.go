package demo

import (
	"encoding/json"
	"slices"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
)

// Example is a statement a simulated member could sign and submit to the
// running demo, to see the mechanism at work.
type Example struct {
	// Member is the author, and KeyFile its private key.
	Member  string
	KeyFile string
	// Statement is the statement as one line of JSON, without the id and
	// time that truce sign fills in.
	Statement []byte
	// Effect says what submitting it would do.
	Effect string
}

// Example suggests a statement for a simulated member to submit: where
// it can, a mediator's vote that agrees with a lone counted vote on an
// open question, and so decides it.
func (d *Demo) Example() *Example {
	var ex *Example
	d.Server.Mechanism.Read(func(st *state.State) { ex = example(st) })
	if ex != nil {
		ex.KeyFile = d.KeyFile(ex.Member)
	}
	return ex
}

func example(st *state.State) *Example {
	c := st.Charter()
	if c == nil {
		return nil
	}
	var mediators []string
	for _, m := range c.Members {
		if m.Role == truce.RoleMediator {
			mediators = append(mediators, m.ID)
		}
	}
	subs := st.Subjects()
	slices.Reverse(subs) // the most recent first
	vote := func(sub *state.Subject, member, answer, rationale, effect string) *Example {
		// The statement's fields in the order SPEC.md gives them; truce
		// sign adds the id and time.
		s := struct {
			Type      string           `json:"type"`
			Mechanism string           `json:"mechanism"`
			Author    string           `json:"author"`
			Body      truce.Assessment `json:"body"`
		}{truce.TypeAssessment, st.Origin(), member, truce.Assessment{Subject: sub.ID, Question: truce.QuestionOccurred, Answer: answer, Rationale: rationale}}
		b, _ := json.Marshal(s)
		return &Example{Member: member, Statement: b, Effect: effect}
	}
	for _, sub := range subs {
		q := sub.Questions[truce.QuestionOccurred]
		if sub.Kind != "incident" || q == nil || q.Status != state.StatusOpen {
			continue
		}
		var counted []state.Vote
		for _, v := range q.Votes {
			if v.Counted {
				counted = append(counted, v)
			}
		}
		if len(counted) != 1 || c.Rules.Verification.Quorum != 2 {
			continue
		}
		for _, m := range mediators {
			if m != counted[0].Member {
				return vote(sub, m, counted[0].Answer,
					simulated+"Agrees with "+counted[0].Member+" on the evidence logged.",
					"a second mediator's vote, agreeing with "+counted[0].Member+", decides whether incident "+sub.ID+" occurred")
			}
		}
	}
	// Otherwise, a vote on the latest incident still undecided.
	for _, sub := range subs {
		q := sub.Questions[truce.QuestionOccurred]
		if sub.Kind != "incident" || q == nil || q.Status == state.StatusDecided || q.Status == state.StatusWithdrawn || len(mediators) == 0 {
			continue
		}
		return vote(sub, mediators[0], truce.AnswerYes, simulated+"The monitors' evidence shows the event took place.",
			"a mediator's vote on whether incident "+sub.ID+" occurred")
	}
	return nil
}

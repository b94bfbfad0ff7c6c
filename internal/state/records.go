package state

import (
	"encoding/json"
	"time"

	"github.com/truce-mechanism/truce"
)

// Charter is one accepted version of the charter, whole.
type Charter struct {
	Version int `json:"version"`
	// Index is the log index of the statement that made this version.
	Index uint64 `json:"index"`
	// StatementID is that statement's id.
	StatementID string `json:"statement_id"`
	// Received is that entry's receive time.
	Received      time.Time       `json:"received"`
	Title         string          `json:"title"`
	Parties       []truce.Party   `json:"parties"`
	Members       []truce.Member  `json:"members"`
	Clauses       []truce.Clause  `json:"clauses"`
	Rules         truce.Rules     `json:"rules"`
	Languages     []string        `json:"languages"`
	Witnesses     []truce.Witness `json:"witnesses,omitempty"`
	WitnessPolicy json.RawMessage `json:"witness_policy,omitempty"`
	// Signers are the member ids whose signatures the statement carried.
	Signers []string `json:"signers"`
}

// Member is the member with the given id, or nil.
func (c *Charter) Member(id string) *truce.Member {
	for i := range c.Members {
		if c.Members[i].ID == id {
			return &c.Members[i]
		}
	}
	return nil
}

// HasParty reports whether id is one of the charter's parties.
func (c *Charter) HasParty(id string) bool {
	for _, p := range c.Parties {
		if p.ID == id {
			return true
		}
	}
	return false
}

// Clause is the clause with the given id, or nil.
func (c *Charter) Clause(id string) *truce.Clause {
	for i := range c.Clauses {
		if c.Clauses[i].ID == id {
			return &c.Clauses[i]
		}
	}
	return nil
}

// Question statuses.
const (
	StatusAwaitingReply = "awaiting_reply"
	StatusOpen          = "open"
	StatusDisputed      = "disputed"
	StatusDecided       = "decided"
	StatusWithdrawn     = "withdrawn"
)

// Subject is an incident or compliance action with its timeline.
type Subject struct {
	ID string `json:"id"`
	// Kind is "incident" or "action".
	Kind string `json:"kind"`
	// Index is the log index of its report.
	Index    uint64    `json:"index"`
	Received time.Time `json:"received"`
	Author   string    `json:"author"`
	// Party is the reporter's party (the acting party for an action), or
	// empty for a mediator's or monitor's report.
	Party string `json:"party,omitempty"`
	// Statement is the report as signed.
	Statement json.RawMessage `json:"statement"`
	// Interested are the interested parties: the reporter's party, the
	// alleged origin and the party hit (for an action, the acting party).
	Interested []string `json:"interested"`
	// Deadline is when the reply window closes on the log's clock.
	Deadline time.Time `json:"reply_deadline"`
	// WindowClosedAt is the log index at which the window closed.
	WindowClosedAt *uint64 `json:"window_closed_at,omitempty"`
	// Replied lists the interested parties that replied in the window.
	Replied []string `json:"replied,omitempty"`
	// Questions by name.
	Questions map[string]*Question `json:"questions"`
	Evidence  []EvidenceRecord     `json:"evidence"`
	Replies   []ReplyRecord        `json:"replies"`
	// Withdrawn is set once the author withdrew the subject.
	Withdrawn *WithdrawRecord `json:"withdrawn,omitempty"`

	// report is the decoded report, for the fold's own use.
	report any
}

// MarshalJSON adds the overall status to the subject's fields. The
// report is spliced in as signed rather than re-encoded: it is valid JSON
// already, and re-encoding it is most of the cost of saving a subject.
func (s *Subject) MarshalJSON() ([]byte, error) {
	type plain Subject
	b, err := json.Marshal(struct {
		*plain
		Statement json.RawMessage `json:"statement,omitempty"` // shadows plain's, to leave it out
		Status    string          `json:"status"`
	}{plain: (*plain)(s), Status: s.Status()})
	if err != nil || len(s.Statement) == 0 {
		return b, err
	}
	out := make([]byte, 0, len(b)+len(s.Statement)+16)
	out = append(out, `{"statement":`...)
	out = append(out, s.Statement...)
	out = append(out, ',')
	return append(out, b[1:]...), nil
}

// Incident is the subject's report, for an incident.
func (s *Subject) Incident() *truce.IncidentReport {
	r, _ := s.decoded().(*truce.IncidentReport)
	return r
}

// Action is the subject's report, for an action.
func (s *Subject) Action() *truce.ActionReport {
	r, _ := s.decoded().(*truce.ActionReport)
	return r
}

func (s *Subject) decoded() any {
	if s.report == nil {
		_, body, err := truce.ParseStatement(s.Statement)
		if err == nil {
			s.report = body
		}
	}
	return s.report
}

// Status is the subject's overall status: withdrawn, awaiting_reply while
// the window is open, decided when every question is, disputed when one
// is, open otherwise.
func (s *Subject) Status() string {
	if s.Withdrawn != nil {
		return StatusWithdrawn
	}
	if s.WindowClosedAt == nil {
		return StatusAwaitingReply
	}
	decided, disputed := 0, 0
	for _, q := range s.Questions {
		switch q.Status {
		case StatusDecided:
			decided++
		case StatusDisputed:
			disputed++
		}
	}
	switch {
	case decided == len(s.Questions):
		return StatusDecided
	case disputed > 0:
		return StatusDisputed
	}
	return StatusOpen
}

func (s *Subject) interested(party string) bool {
	for _, p := range s.Interested {
		if p == party {
			return true
		}
	}
	return false
}

// Question is one question asked of a subject, and its finding.
type Question struct {
	Status string `json:"status"`
	// Answer and Severity are the finding, once decided.
	Answer   string `json:"answer,omitempty"`
	Severity string `json:"severity,omitempty"`
	// DecidedAt is the log index at which the question was decided.
	DecidedAt *uint64 `json:"decided_at,omitempty"`
	// Votes holds each member's latest vote, in log order; once decided,
	// as they stood at the decision.
	Votes []Vote `json:"votes"`
}

// Vote is a member's assessment of a question.
type Vote struct {
	Member   string `json:"member"`
	Answer   string `json:"answer"`
	Severity string `json:"severity,omitempty"`
	// Rationale is the member's reasoning.
	Rationale string `json:"rationale"`
	// Index is the log index of the assessment.
	Index uint64 `json:"index"`
	// StatementID is the assessment's id.
	StatementID string `json:"statement_id"`
	// Counted tells whether the rules count the vote; Why says why not.
	Counted bool   `json:"counted"`
	Why     string `json:"why,omitempty"`
	// Dissent marks a counted vote against a decided finding.
	Dissent bool `json:"dissent,omitempty"`
	// Replaced lists the log indexes of the member's earlier votes.
	Replaced []uint64 `json:"replaced,omitempty"`
}

// EvidenceRecord is an evidence.add on a subject.
type EvidenceRecord struct {
	Index       uint64    `json:"index"`
	StatementID string    `json:"statement_id"`
	Author      string    `json:"author"`
	Received    time.Time `json:"received"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	MediaType   string    `json:"media_type"`
	Name        string    `json:"name"`
	CapturedAt  string    `json:"captured_at,omitempty"`
	Description string    `json:"description"`
}

// ReplyRecord is a reply on a subject.
type ReplyRecord struct {
	Index       uint64    `json:"index"`
	StatementID string    `json:"statement_id"`
	Author      string    `json:"author"`
	Party       string    `json:"party"`
	Received    time.Time `json:"received"`
	Text        string    `json:"text"`
	Contests    []string  `json:"contests,omitempty"`
	// Late marks a reply logged after the window closed: kept, reopening nothing.
	Late bool `json:"late,omitempty"`
}

// WithdrawRecord is the withdrawal of a subject.
type WithdrawRecord struct {
	Index       uint64 `json:"index"`
	StatementID string `json:"statement_id"`
	Reason      string `json:"reason"`
}

// AccessDenial is an accepted access.denied statement.
type AccessDenial struct {
	Index       uint64    `json:"index"`
	StatementID string    `json:"statement_id"`
	Author      string    `json:"author"`
	Received    time.Time `json:"received"`
	Party       string    `json:"party"`
	Subject     string    `json:"subject,omitempty"`
	Place       string    `json:"place"`
	At          string    `json:"at"`
	Description string    `json:"description"`
}

// Package store keeps the SQL projection of a mechanism's state: what the
// fold over the log gives, in tables that the API and the pages query. The
// projection can always be rebuilt from the log; it remembers the next log
// index it expects, so that after a restart it catches up from there.
//
// The store knows nothing of the rules: it saves the rows and documents the
// fold hands it, batch by batch, in one transaction per batch, and answers
// queries. Implementations live in sub-packages (sqlite, postgres) and are
// all checked by the suite in storetest.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by Get methods for an unknown key.
var ErrNotFound = errors.New("not found")

// ErrBadCursor is returned by Subjects for a cursor it did not give.
var ErrBadCursor = errors.New("invalid cursor")

// Store is the projection. All methods are safe for concurrent use.
type Store interface {
	// Apply saves one batch atomically: after it returns nil, all of the
	// batch is stored and Progress reports b.Next.
	Apply(ctx context.Context, b *Batch) error
	// Progress is the log index of the next entry to apply (0 for a new
	// store), and the mechanism clock after the last applied entry.
	Progress(ctx context.Context) (next uint64, clock time.Time, err error)
	// Reset empties the store, for a rebuild from the log.
	Reset(ctx context.Context) error

	// Verdict is the fold's verdict on the entry at index.
	Verdict(ctx context.Context, index uint64) (*Verdict, error)
	// Verdicts lists verdicts by index, from index from upward.
	Verdicts(ctx context.Context, from uint64, limit int) ([]Verdict, error)
	// StatementIDs calls fn with every statement id seen in the log.
	StatementIDs(ctx context.Context, fn func(id string) error) error

	// Subject is an incident or action by its statement id.
	Subject(ctx context.Context, kind, id string) (*Subject, error)
	// Subjects lists subjects of a kind, newest log index first.
	Subjects(ctx context.Context, kind string, f Filter) (items []Subject, next string, err error)
	// AllSubjects calls fn with every subject, in log order.
	AllSubjects(ctx context.Context, fn func(*Subject) error) error

	// Charters is every accepted charter version, oldest first.
	Charters(ctx context.Context) ([]Charter, error)
	// AccessDenials is every accepted access denial, in log order.
	AccessDenials(ctx context.Context) ([]AccessDenial, error)
	// Document is a named JSON document the fold keeps whole (such as
	// "compliance"), or ErrNotFound.
	Document(ctx context.Context, name string) ([]byte, error)

	// Close releases the store.
	Close() error
}

// Batch is the effect of applying log entries [Next-len(Verdicts), Next).
type Batch struct {
	// Next is the log index after the batch's last entry.
	Next uint64
	// Clock is the mechanism clock after the batch's last entry.
	Clock time.Time
	// Verdicts holds one row per entry of the batch, in order.
	Verdicts []Verdict
	// Subjects are the subjects that the batch created or changed, whole.
	Subjects []Subject
	// Charters are the charter versions the batch accepted.
	Charters []Charter
	// AccessDenials are the access denials the batch accepted.
	AccessDenials []AccessDenial
	// Documents are named JSON documents to replace whole.
	Documents map[string][]byte
}

// Verdict is the fold's judgement of one log entry.
type Verdict struct {
	Index    uint64
	Received time.Time
	// ID, Type, Author and Subject are the statement's, or empty when the
	// entry is not a valid statement.
	ID      string
	Type    string
	Author  string
	Subject string
	// Accepted is false for a statement the rules reject; Reason says why.
	Accepted bool
	Reason   string
}

// Kinds of subject.
const (
	KindIncident = "incident"
	KindAction   = "action"
)

// Subject is an incident or compliance action, with the columns that lists
// filter on and Doc, the fold's whole record of it as JSON.
type Subject struct {
	ID    string
	Kind  string
	Index uint64
	// Received is the receive time of the report's entry.
	Received time.Time
	Author   string
	// Party is the reporter's party, empty for mediators and monitors.
	Party string
	// When is the incident's occurred_at or the action's taken_at.
	When time.Time
	// Place, Admin1 and Country locate it (empty for actions without one).
	Place   string
	Admin1  string
	Country string
	// EventType is the incident's ACLED event type, or the action's clause.
	EventType     string
	AllegedOrigin string
	Against       string
	// Status is the subject's overall status: awaiting_reply, open,
	// disputed, decided or withdrawn.
	Status string
	// Doc is the fold's record of the subject, as JSON.
	Doc []byte
}

// Filter narrows a list of subjects. Zero fields do not filter.
type Filter struct {
	// From and To bound When (To exclusive).
	From, To time.Time
	// Place matches a substring of place, admin1 or country, any case.
	Place string
	// EventType matches exactly.
	EventType string
	// Party matches the reporter's party, alleged_origin or against.
	Party string
	// Status matches exactly.
	Status string
	// Limit is the most items to return (default 50, at most 1000).
	Limit int
	// Cursor continues a list from the next of a previous call.
	Cursor string
}

// Charter is one accepted charter version.
type Charter struct {
	Version int
	Index   uint64
	// Doc is the fold's record of the charter version, as JSON.
	Doc []byte
}

// AccessDenial is one accepted access.denied statement.
type AccessDenial struct {
	Index   uint64
	ID      string
	Author  string
	Party   string
	Subject string
	Place   string
	At      string
	Doc     []byte
}

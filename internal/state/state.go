// Package state is the deterministic fold over a mechanism's log: entries
// in, members, incidents, actions, findings and compliance tallies out.
//
// It does no I/O. Replaying entries 0..n of a log gives the same state on
// every machine; a statement that breaks a rule is kept and marked rejected,
// with the reason, and changes nothing else. The rules are SPEC.md's
// "Rules and findings".
package state

import (
	"container/heap"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/pubkey"
)

// Errors that verdicts wrap, so that callers can tell the kinds of
// rejection apart with errors.Is. Each maps to an HTTP status in the API.
var (
	// ErrMalformed: the statement is not well formed (400).
	ErrMalformed = truce.ErrMalformed
	// ErrUnknownSubject: the statement refers to a subject the log lacks (400).
	ErrUnknownSubject = errors.New("unknown subject")
	// ErrSignature: a signature is missing, unknown or does not verify (401).
	ErrSignature = truce.ErrSignature
	// ErrForbidden: a role or rule forbids the statement (403).
	ErrForbidden = errors.New("forbidden")
	// ErrConflict: a replayed id, an already decided question, or a stale
	// charter version (409).
	ErrConflict = errors.New("conflict")
)

func reject(kind error, format string, args ...any) error {
	return &truce.KindError{Kind: kind, Err: fmt.Errorf(format, args...)}
}

// Verdict is the fold's judgement on one entry.
type Verdict struct {
	// Accepted is false for an entry that broke a rule.
	Accepted bool
	// Err is why it was rejected; it wraps one of the Err values.
	Err error
}

// State is a mechanism's state after applying a prefix of its log. It is
// not safe for concurrent use: callers serialise Apply and guard reads.
type State struct {
	origin string
	next   uint64
	clock  time.Time

	charters []*Charter
	keys     map[string]keyRef // keyid → current member key
	ids      map[string]uint64 // statement id → log index of its first use
	subjects map[string]*Subject
	denials  []*AccessDenial
	windows  windowHeap
	evidence map[string]int64 // sha256 → size, of accepted evidence records

	changes Changes
}

type keyRef struct {
	member string
	key    *pubkey.Key
}

// New returns the empty state of the mechanism whose log origin is origin.
func New(origin string) *State {
	return &State{
		origin:   origin,
		keys:     map[string]keyRef{},
		ids:      map[string]uint64{},
		subjects: map[string]*Subject{},
		evidence: map[string]int64{},
	}
}

// Evidence reports the size an accepted evidence.add gives the file with
// the given SHA-256, and whether there is one.
func (s *State) Evidence(sha256 string) (int64, bool) {
	n, ok := s.evidence[sha256]
	return n, ok
}

// Origin is the mechanism's log origin.
func (s *State) Origin() string { return s.origin }

// Next is the index of the next entry to apply: the number applied so far.
func (s *State) Next() uint64 { return s.next }

// Clock is the mechanism's time: the largest receive time applied so far.
func (s *State) Clock() time.Time { return s.clock }

// Charter is the charter in force, or nil before the genesis charter.
func (s *State) Charter() *Charter {
	if len(s.charters) == 0 {
		return nil
	}
	return s.charters[len(s.charters)-1]
}

// Charters is every accepted charter version, oldest first.
func (s *State) Charters() []*Charter { return s.charters }

// Subject is the incident or action with the given statement id, or nil.
func (s *State) Subject(id string) *Subject { return s.subjects[id] }

// Subjects is every incident and action, in log order.
func (s *State) Subjects() []*Subject {
	out := make([]*Subject, 0, len(s.subjects))
	for _, sub := range s.subjects {
		out = append(out, sub)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// AccessDenials is every accepted access denial, in log order.
func (s *State) AccessDenials() []*AccessDenial { return s.denials }

// Seen reports whether a statement id is taken, and where.
func (s *State) Seen(id string) (uint64, bool) {
	i, ok := s.ids[id]
	return i, ok
}

// Key returns the public key with the given keyid if it belongs to a
// current member.
func (s *State) Key(keyid string) (ed25519.PublicKey, bool) {
	k, ok := s.keys[keyid]
	if !ok {
		return nil, false
	}
	return k.key.Public(), true
}

// verifier returns the key with the given keyid, prepared for verifying,
// if it belongs to a current member.
func (s *State) verifier(keyid string) (*pubkey.Key, bool) {
	k, ok := s.keys[keyid]
	return k.key, ok
}

// Apply applies the log entry at index, which must be Next. verified, if
// not nil, holds keyids whose signatures on e's envelope the caller has
// already checked (a server that verified them on receipt); other
// signatures are verified here.
func (s *State) Apply(index uint64, e *truce.Entry, verified map[string]bool) Verdict {
	if index != s.next {
		panic(fmt.Sprintf("state: applying entry %d, want %d", index, s.next))
	}
	s.next++
	if e.Received.After(s.clock) {
		s.clock = e.Received
	}
	v := s.apply(index, e, verified)
	s.closeWindows(index)
	s.changes.Verdicts = append(s.changes.Verdicts, EntryVerdict{Index: index, Received: e.Received, Statement: e.Statement, Body: e.Body, Verdict: v})
	return v
}

func (s *State) apply(index uint64, e *truce.Entry, verified map[string]bool) Verdict {
	if e.Problem != nil {
		return Verdict{Err: e.Problem}
	}
	if first, ok := s.ids[e.Statement.ID]; ok {
		return Verdict{Err: reject(ErrConflict, "replay: id %s was already used at log index %d", e.Statement.ID, first)}
	}
	s.ids[e.Statement.ID] = index
	commit, err := s.check(e, verified)
	if err != nil {
		return Verdict{Err: err}
	}
	commit(index)
	return Verdict{Accepted: true}
}

// Check reports whether e would be accepted if it were the next entry,
// without changing the state. Signatures it verifies are added to verified
// (when not nil), so that Apply need not verify them again.
func (s *State) Check(e *truce.Entry, verified map[string]bool) error {
	if e.Problem != nil {
		return e.Problem
	}
	if first, ok := s.ids[e.Statement.ID]; ok {
		return reject(ErrConflict, "replay: id %s was already used at log index %d", e.Statement.ID, first)
	}
	_, err := s.check(e, verified)
	return err
}

// Changes is what applying entries changed since the last TakeChanges.
type Changes struct {
	Verdicts      []EntryVerdict
	Subjects      []*Subject
	Charters      []*Charter
	AccessDenials []*AccessDenial
	// Compliance is set when the tallies changed.
	Compliance *Compliance

	dirty      map[string]bool
	compliance bool
}

// EntryVerdict is the verdict on one applied entry.
type EntryVerdict struct {
	Index     uint64
	Received  time.Time
	Statement *truce.Statement
	Body      any
	Verdict   Verdict
}

// TakeChanges returns what changed since the last call, and forgets it.
func (s *State) TakeChanges() Changes {
	c := s.changes
	s.changes = Changes{}
	ids := make([]string, 0, len(c.dirty))
	for id := range c.dirty {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c.Subjects = append(c.Subjects, s.subjects[id])
	}
	if c.compliance {
		c.Compliance = s.Compliance()
	}
	c.dirty = nil
	return c
}

// ForgetChanges drops what changed since the last TakeChanges, for a
// replay that keeps no projection, such as an audit.
func (s *State) ForgetChanges() { s.changes = Changes{} }

func (s *State) touch(sub *Subject) {
	if s.changes.dirty == nil {
		s.changes.dirty = map[string]bool{}
	}
	s.changes.dirty[sub.ID] = true
}

// Restore rebuilds a state from its projection: the charters, subjects
// and access denials that TakeChanges gave, the ids seen, and how far the
// fold had got. It is the inverse of saving every change, so that a
// restarted server need not replay its log from zero.
func Restore(origin string, next uint64, clock time.Time, charters []*Charter, subjects []*Subject, denials []*AccessDenial, ids map[string]uint64) *State {
	s := New(origin)
	s.next, s.clock = next, clock
	s.charters = charters
	if c := s.Charter(); c != nil {
		s.indexKeys(c)
	}
	for _, sub := range subjects {
		s.subjects[sub.ID] = sub
		for _, ev := range sub.Evidence {
			s.evidence[ev.SHA256] = ev.Size
		}
		if sub.Status() == StatusAwaitingReply {
			heap.Push(&s.windows, windowItem{sub.Deadline, sub.Index, sub.ID})
		}
	}
	s.denials = denials
	s.ids = ids
	return s
}

func (s *State) indexKeys(c *Charter) {
	s.keys = map[string]keyRef{}
	for _, m := range c.Members {
		for _, k := range m.Keys {
			pub, err := truce.ParsePublicKey(k)
			if err != nil {
				continue // checked when the charter was accepted
			}
			s.keys[truce.KeyID(pub)] = keyRef{member: m.ID, key: pubkey.New(pub)}
		}
	}
}

// closeWindows closes every reply window that the clock has passed, and
// decides what can be decided: the entry that closes a window may be
// unrelated to the subject.
func (s *State) closeWindows(index uint64) {
	for s.windows.Len() > 0 && !s.windows[0].deadline.After(s.clock) {
		it := heap.Pop(&s.windows).(windowItem)
		sub := s.subjects[it.id]
		if sub == nil || sub.WindowClosedAt != nil || sub.Withdrawn != nil {
			continue
		}
		i := index
		sub.WindowClosedAt = &i
		s.evaluate(sub, index)
	}
}

type windowItem struct {
	deadline time.Time
	index    uint64
	id       string
}

type windowHeap []windowItem

func (h windowHeap) Len() int { return len(h) }
func (h windowHeap) Less(i, j int) bool {
	if !h[i].deadline.Equal(h[j].deadline) {
		return h[i].deadline.Before(h[j].deadline)
	}
	return h[i].index < h[j].index
}
func (h windowHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *windowHeap) Push(x any)   { *h = append(*h, x.(windowItem)) }
func (h *windowHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// MarshalCanonical encodes v as the JSON the projection stores.
func MarshalCanonical(v any) []byte {
	if m, ok := v.(json.Marshaler); ok {
		// Called directly, not through json.Marshal, which would check and
		// compact what MarshalJSON returns all over again.
		b, err := m.MarshalJSON()
		if err != nil {
			panic(err)
		}
		return b
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain data is encoded here
	}
	return b
}

// ParseLogEntry decodes a log entry for the fold. Bytes that are not a
// truce entry at all still get an entry, whose Problem says why, so that
// the fold marks them rejected and moves on.
func ParseLogEntry(b []byte) *truce.Entry {
	e, err := truce.ParseEntry(b)
	if err != nil {
		return &truce.Entry{Problem: fmt.Errorf("entry is not a truce statement: %w", err)}
	}
	return e
}

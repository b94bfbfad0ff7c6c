package mechanism

import (
	"errors"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
	"github.com/truce-mechanism/truce/internal/store"
)

// projection turns the fold's changes into a store batch.
func projection(ch *state.Changes, next uint64, clock time.Time) *store.Batch {
	b := &store.Batch{Next: next, Clock: clock, Verdicts: make([]store.Verdict, len(ch.Verdicts))}
	for i, v := range ch.Verdicts {
		row := store.Verdict{Index: v.Index, Received: v.Received, Accepted: v.Verdict.Accepted}
		if v.Verdict.Err != nil {
			row.Reason = v.Verdict.Err.Error()
		}
		if st := v.Statement; st != nil {
			row.ID, row.Type, row.Author = st.ID, st.Type, st.Author
			row.Subject = truce.SubjectOf(v.Statement, v.Body)
		}
		b.Verdicts[i] = row
	}
	for _, s := range ch.Subjects {
		b.Subjects = append(b.Subjects, SubjectRow(s))
	}
	for _, c := range ch.Charters {
		b.Charters = append(b.Charters, store.Charter{Version: c.Version, Index: c.Index, Doc: state.MarshalCanonical(c)})
	}
	for _, d := range ch.AccessDenials {
		b.AccessDenials = append(b.AccessDenials, store.AccessDenial{
			Index: d.Index, ID: d.StatementID, Author: d.Author, Party: d.Party, Subject: d.Subject,
			Place: d.Place, At: d.At, Doc: state.MarshalCanonical(d),
		})
	}
	if ch.Compliance != nil {
		b.Documents = map[string][]byte{"compliance": state.MarshalCanonical(ch.Compliance)}
	}
	return b
}

// SubjectRow is the store row of a subject.
func SubjectRow(s *state.Subject) store.Subject {
	row := store.Subject{
		ID: s.ID, Kind: s.Kind, Index: s.Index, Received: s.Received, Author: s.Author,
		Party: s.Party, Status: s.Status(), Doc: state.MarshalCanonical(s),
	}
	if r := s.Incident(); r != nil {
		row.When, _ = truce.ParseWhen(r.OccurredAt)
		row.Place, row.Admin1, row.Country = r.Location.Place, r.Location.Admin1, r.Location.Country
		row.EventType, row.AllegedOrigin, row.Against = r.EventType, r.AllegedOrigin, r.Against
	}
	if r := s.Action(); r != nil {
		row.When, _ = truce.ParseWhen(r.TakenAt)
		row.EventType = r.Clause
		if l := r.Location; l != nil {
			row.Place, row.Admin1, row.Country = l.Place, l.Admin1, l.Country
		}
	}
	return row
}

// verdictOf turns a stored verdict back into the fold's.
func verdictOf(v *store.Verdict) state.Verdict {
	if v.Accepted {
		return state.Verdict{Accepted: true}
	}
	return state.Verdict{Err: errors.New(v.Reason)}
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/truce-mechanism/truce/internal/store"
)

// Limits of a list.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

// walkChunk is how many rows a walk (StatementIDs, AllSubjects) reads at a
// time. A walk holds no connection while it calls fn, so fn may use the
// store; rows applied during a walk may or may not be seen.
const walkChunk = 1000

const verdictColumns = `idx, received, id, type, author, subject, accepted, reason`

func scanVerdict(row interface{ Scan(...any) error }) (store.Verdict, error) {
	var v store.Verdict
	var idx, received int64
	err := row.Scan(&idx, &received, &v.ID, &v.Type, &v.Author, &v.Subject, &v.Accepted, &v.Reason)
	v.Index = uint64(idx)
	v.Received = fromMicros(received)
	return v, err
}

// Verdict is the verdict on the entry at index, or store.ErrNotFound.
func (s *Store) Verdict(ctx context.Context, index uint64) (*store.Verdict, error) {
	if index > math.MaxInt64 {
		return nil, fmt.Errorf("cannot read verdict %d: %w", index, store.ErrNotFound)
	}
	v, err := scanVerdict(s.getVerdict.QueryRowContext(ctx, int64(index)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("cannot read verdict %d: %w", index, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read verdict %d: %w", index, err)
	}
	return &v, nil
}

// Verdicts lists at most limit verdicts from index from upward. A limit
// of 0 or less means 50, and one over 1000 means 1000, as in store.Filter.
func (s *Store) Verdicts(ctx context.Context, from uint64, limit int) ([]store.Verdict, error) {
	if from > math.MaxInt64 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+verdictColumns+` FROM verdicts
		WHERE idx >= ? ORDER BY idx LIMIT ?`, int64(from), clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("cannot list verdicts: %w", err)
	}
	defer rows.Close()
	var vs []store.Verdict
	for rows.Next() {
		v, err := scanVerdict(rows)
		if err != nil {
			return nil, fmt.Errorf("cannot list verdicts: %w", err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot list verdicts: %w", err)
	}
	return vs, nil
}

func clampLimit(limit int) int {
	if limit <= 0 {
		return defaultLimit
	}
	return min(limit, maxLimit)
}

// StatementIDs calls fn with the id of every verdict that has one, in log
// order, walkChunk at a time.
func (s *Store) StatementIDs(ctx context.Context, fn func(id string) error) error {
	ids := make([]string, 0, walkChunk)
	for from := int64(0); ; {
		ids = ids[:0]
		last := int64(-1)
		err := func() error {
			rows, err := s.r.QueryContext(ctx, `SELECT idx, id FROM verdicts
				WHERE idx >= ? AND id != '' ORDER BY idx LIMIT ?`, from, walkChunk)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&last, &id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return rows.Err()
		}()
		if err != nil {
			return fmt.Errorf("cannot list statement ids: %w", err)
		}
		for _, id := range ids {
			if err := fn(id); err != nil {
				return err
			}
		}
		if len(ids) < walkChunk {
			return nil
		}
		from = last + 1
	}
}

const subjectColumns = `idx, id, kind, received, author, party, at, place, admin1, country,
	event_type, alleged_origin, against, status, doc`

func scanSubject(row interface{ Scan(...any) error }) (store.Subject, error) {
	var sub store.Subject
	var idx, received, at int64
	err := row.Scan(&idx, &sub.ID, &sub.Kind, &received, &sub.Author, &sub.Party, &at,
		&sub.Place, &sub.Admin1, &sub.Country, &sub.EventType, &sub.AllegedOrigin, &sub.Against,
		&sub.Status, &sub.Doc)
	sub.Index = uint64(idx)
	sub.Received = fromMicros(received)
	sub.When = fromMicros(at)
	return sub, err
}

// Subject is the subject of kind with id, or store.ErrNotFound.
func (s *Store) Subject(ctx context.Context, kind, id string) (*store.Subject, error) {
	sub, err := scanSubject(s.getSubject.QueryRowContext(ctx, id, kind))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("cannot read %s %q: %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s %q: %w", kind, id, err)
	}
	return &sub, nil
}

// Subjects lists the subjects of kind that f selects, newest log index
// first. Its cursor is the log index of the last subject of the page, so a
// list continues where it stopped even while batches are applied: new
// subjects have higher indexes, and a replaced subject keeps its index.
func (s *Store) Subjects(ctx context.Context, kind string, f store.Filter) (items []store.Subject, next string, err error) {
	var q strings.Builder
	q.WriteString(`SELECT ` + subjectColumns + ` FROM subjects WHERE kind = ?`)
	args := []any{kind}
	if !f.From.IsZero() {
		q.WriteString(` AND at >= ?`)
		args = append(args, ceilMicros(f.From))
	}
	if !f.To.IsZero() {
		q.WriteString(` AND at < ?`)
		args = append(args, ceilMicros(f.To))
	}
	if f.Place != "" {
		// instr, not LIKE: a place may hold % or _.
		q.WriteString(` AND instr(place_key, ?) > 0`)
		args = append(args, strings.ToLower(f.Place))
	}
	if f.EventType != "" {
		q.WriteString(` AND event_type = ?`)
		args = append(args, f.EventType)
	}
	if f.Party != "" {
		q.WriteString(` AND (party = ? OR alleged_origin = ? OR against = ?)`)
		args = append(args, f.Party, f.Party, f.Party)
	}
	if f.Status != "" {
		q.WriteString(` AND status = ?`)
		args = append(args, f.Status)
	}
	if f.Cursor != "" {
		before, err := parseCursor(f.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("cannot list %ss: %w", kind, err)
		}
		q.WriteString(` AND idx < ?`)
		args = append(args, before)
	}
	// One more than the page, to know whether there is a next page.
	limit := clampLimit(f.Limit)
	q.WriteString(` ORDER BY idx DESC LIMIT ?`)
	args = append(args, limit+1)

	rows, err := s.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, "", fmt.Errorf("cannot list %ss: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		sub, err := scanSubject(rows)
		if err != nil {
			return nil, "", fmt.Errorf("cannot list %ss: %w", kind, err)
		}
		items = append(items, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("cannot list %ss: %w", kind, err)
	}
	if len(items) > limit {
		items = items[:limit]
		next = formatCursor(int64(items[limit-1].Index))
	}
	return items, next, nil
}

// formatCursor is the cursor that continues a list below log index idx:
// the index in decimal, in unpadded URL-safe base64 so that clients take it
// as opaque.
func formatCursor(idx int64) string {
	return base64.RawURLEncoding.EncodeToString(strconv.AppendInt(nil, idx, 10))
}

func parseCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		var idx int64
		idx, err = strconv.ParseInt(string(b), 10, 64)
		if err == nil && idx >= 0 && formatCursor(idx) == c {
			return idx, nil
		}
	}
	return 0, fmt.Errorf("%w %q", store.ErrBadCursor, c)
}

// AllSubjects calls fn with every subject in log order, walkChunk at a
// time.
func (s *Store) AllSubjects(ctx context.Context, fn func(*store.Subject) error) error {
	subs := make([]store.Subject, 0, walkChunk)
	for from := int64(0); ; {
		subs = subs[:0]
		err := func() error {
			rows, err := s.r.QueryContext(ctx, `SELECT `+subjectColumns+` FROM subjects
				WHERE idx >= ? ORDER BY idx LIMIT ?`, from, walkChunk)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				sub, err := scanSubject(rows)
				if err != nil {
					return err
				}
				subs = append(subs, sub)
			}
			return rows.Err()
		}()
		if err != nil {
			return fmt.Errorf("cannot list subjects: %w", err)
		}
		for i := range subs {
			if err := fn(&subs[i]); err != nil {
				return err
			}
		}
		if len(subs) < walkChunk {
			return nil
		}
		from = int64(subs[len(subs)-1].Index) + 1
	}
}

// Charters lists the charter versions, oldest first.
func (s *Store) Charters(ctx context.Context) ([]store.Charter, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT version, idx, doc FROM charters ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("cannot list charters: %w", err)
	}
	defer rows.Close()
	var cs []store.Charter
	for rows.Next() {
		var c store.Charter
		var idx int64
		if err := rows.Scan(&c.Version, &idx, &c.Doc); err != nil {
			return nil, fmt.Errorf("cannot list charters: %w", err)
		}
		c.Index = uint64(idx)
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot list charters: %w", err)
	}
	return cs, nil
}

// AccessDenials lists the access denials in log order.
func (s *Store) AccessDenials(ctx context.Context) ([]store.AccessDenial, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT idx, id, author, party, subject, place, at, doc
		FROM access_denials ORDER BY idx`)
	if err != nil {
		return nil, fmt.Errorf("cannot list access denials: %w", err)
	}
	defer rows.Close()
	var ds []store.AccessDenial
	for rows.Next() {
		var d store.AccessDenial
		var idx int64
		if err := rows.Scan(&idx, &d.ID, &d.Author, &d.Party, &d.Subject, &d.Place, &d.At, &d.Doc); err != nil {
			return nil, fmt.Errorf("cannot list access denials: %w", err)
		}
		d.Index = uint64(idx)
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot list access denials: %w", err)
	}
	return ds, nil
}

// Document is the document called name, or store.ErrNotFound.
func (s *Store) Document(ctx context.Context, name string) ([]byte, error) {
	var doc []byte
	err := s.getDocument.QueryRowContext(ctx, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("cannot read document %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read document %q: %w", name, err)
	}
	return doc, nil
}

// Package sqlite keeps the projection of a mechanism's state in one SQLite
// database file, with the pure-Go driver modernc.org/sqlite.
//
// A Store has one writer connection, which applies batches one at a time,
// and a pool of query-only reader connections: in WAL mode readers see the
// last committed batch and never wait for the writer.
//
// Times are stored as INTEGER microseconds since the Unix epoch, UTC, which
// is exact for any time a statement can carry (years 0 to 9999), sorts and
// compares as the instants do, and is the precision PostgreSQL keeps too.
// Finer times are truncated to the microsecond.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"runtime"
	"time"

	"github.com/truce-mechanism/truce/internal/store"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a store.Store in an SQLite database file. Its methods are safe
// for concurrent use.
type Store struct {
	// w is the writer: one connection, so that batches apply one at a time
	// and its prepared statements are made once.
	w *sql.DB
	// r is the pool of query-only reader connections.
	r *sql.DB

	// Statements prepared on w.
	insertVerdicts, upsertSubjects                       *inserter
	insertCharter, insertDenial, upsertDocument, setMeta *sql.Stmt
	// Statements prepared on r.
	getProgress, getVerdict, getSubject, getDocument *sql.Stmt
}

var _ store.Store = (*Store)(nil)

// busyTimeout is how long a connection waits for a lock held by another
// process (such as a backup, or a second truce by mistake) before failing.
const busyTimeout = 10 * time.Second

// Open opens the store in the SQLite database file at path, creating it
// and its schema if needed, and migrating an older schema. It refuses a
// database made by a newer version of truce.
func Open(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open store %s: %w", path, err)
	}
	s := &Store{}
	// journal_mode=WAL: readers read the last commit while the writer
	// writes the next, and a commit appends to the WAL rather than
	// rewriting pages in place.
	//
	// synchronous=NORMAL: under WAL a commit is not fsynced, only each
	// checkpoint is, so a power cut can lose the last few batches but never
	// corrupts the database. That is acceptable here because the store is a
	// projection: the log is the truth, and after a restart the projection
	// catches up from its Progress, which is in the same commits as the
	// rows. FULL would add an fsync to every batch for nothing.
	//
	// foreign_keys=ON: every subject, charter and access denial points at
	// the verdict of its log entry.
	//
	// _txlock=immediate: a batch takes the write lock at BEGIN, rather than
	// upgrading a read transaction part way (which can fail with BUSY).
	s.w, err = sql.Open("sqlite", dsn(abs, map[string]string{"_txlock": "immediate"},
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
		"foreign_keys(ON)",
	))
	if err != nil {
		return nil, fmt.Errorf("cannot open store %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, s.w); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("cannot open store %s: %w", path, err)
	}

	s.r, err = sql.Open("sqlite", dsn(abs, nil,
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
		"query_only(1)",
	))
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("cannot open store %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	s.r.SetConnMaxLifetime(0)
	s.r.SetConnMaxIdleTime(0)

	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("cannot open store %s: %w", path, err)
	}
	return s, nil
}

// dsn is the driver's name for the database at path, with connection
// parameters and pragmas that every connection of a pool runs when it opens.
func dsn(path string, params map[string]string, pragmas ...string) string {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	// A file: URI, so that a path with "?" or "#" in it stays a path.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	if u.Path[0] != '/' {
		u.Path = "/" + u.Path // a Windows drive letter
	}
	return u.String()
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	s.insertVerdicts, err = prepareInserter(ctx, s.w,
		`INSERT INTO verdicts (idx, received, id, type, author, subject, accepted, reason)`, verdictCols, "")
	if err != nil {
		return err
	}
	// A subject is replaced by id, and keeps the index of its report (its
	// rowid): a new subject at an index that another subject has is refused.
	s.upsertSubjects, err = prepareInserter(ctx, s.w, `INSERT INTO subjects (idx, id, kind, received,
			author, party, at, place, admin1, country, place_key, event_type, alleged_origin, against,
			status, doc)`, subjectCols,
		`ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,
			received = excluded.received, author = excluded.author, party = excluded.party,
			at = excluded.at, place = excluded.place, admin1 = excluded.admin1,
			country = excluded.country, place_key = excluded.place_key,
			event_type = excluded.event_type, alleged_origin = excluded.alleged_origin,
			against = excluded.against, status = excluded.status, doc = excluded.doc`)
	if err != nil {
		return err
	}
	for _, p := range []struct {
		db    *sql.DB
		stmt  **sql.Stmt
		query string
	}{
		{s.w, &s.insertCharter, `INSERT INTO charters (version, idx, doc) VALUES (?, ?, ?)`},
		{s.w, &s.insertDenial, `INSERT INTO access_denials (idx, id, author, party, subject, place, at, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
		{s.w, &s.upsertDocument, `INSERT INTO documents (name, doc) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET doc = excluded.doc`},
		{s.w, &s.setMeta, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`},
		{s.r, &s.getProgress, `SELECT key, value FROM meta WHERE key IN ('next', 'clock')`},
		{s.r, &s.getVerdict, `SELECT ` + verdictColumns + ` FROM verdicts WHERE idx = ?`},
		{s.r, &s.getSubject, `SELECT ` + subjectColumns + ` FROM subjects WHERE id = ? AND kind = ?`},
		{s.r, &s.getDocument, `SELECT doc FROM documents WHERE name = ?`},
	} {
		stmt, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("cannot prepare %q: %w", p.query, err)
		}
		*p.stmt = stmt
	}
	return nil
}

// Close closes the store's statements and connections. The writer closes
// last, so that it checkpoints the WAL into the database file.
func (s *Store) Close() error {
	var errs []error
	for _, stmt := range []*sql.Stmt{
		s.getProgress, s.getVerdict, s.getSubject, s.getDocument,
		s.insertCharter, s.insertDenial, s.upsertDocument, s.setMeta,
	} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	for _, in := range []*inserter{s.insertVerdicts, s.upsertSubjects} {
		if in != nil {
			errs = append(errs, in.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot close store: %w", err)
	}
	return nil
}

// micros is t as stored: microseconds since the Unix epoch. The zero
// time.Time is stored as such and comes back zero.
func micros(t time.Time) int64 { return t.UnixMicro() }

// ceilMicros is the smallest stored time not before t, so that a filter
// with a bound finer than a microsecond means what it says.
func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

// fromMicros is the time stored as us, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// index is a log index as stored: SQLite's integers are signed.
func index(i uint64) (int64, error) {
	if i > math.MaxInt64 {
		return 0, fmt.Errorf("log index %d is out of range", i)
	}
	return int64(i), nil
}

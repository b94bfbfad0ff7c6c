package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are the schema's versions: migrations()[i] takes a database
// from version i to version i+1. The version is kept in the meta table;
// a released migration is never edited, only followed by another.
func migrations() []string { return []string{schemaV1} }

// schemaV1 is the first schema.
//
// Subjects are keyed by their log index, the index of their report: one
// log entry reports at most one subject, and lists page newest index first,
// so the table is stored in list order and every index on it ends in idx.
// Filters on kind with status, event type or time have an index; party
// (three columns, a few values) and place (a substring) filter rows while
// scanning in idx order, which stops as soon as a page is full.
const schemaV1 = `
CREATE TABLE verdicts (
	idx      INTEGER PRIMARY KEY,
	received INTEGER NOT NULL, -- microseconds since the epoch
	id       TEXT NOT NULL,
	type     TEXT NOT NULL,
	author   TEXT NOT NULL,
	subject  TEXT NOT NULL,
	accepted INTEGER NOT NULL,
	reason   TEXT NOT NULL
) STRICT;

CREATE TABLE subjects (
	idx            INTEGER PRIMARY KEY REFERENCES verdicts (idx),
	id             TEXT NOT NULL UNIQUE,
	kind           TEXT NOT NULL,
	received       INTEGER NOT NULL,
	author         TEXT NOT NULL,
	party          TEXT NOT NULL,
	at             INTEGER NOT NULL, -- When
	place          TEXT NOT NULL,
	admin1         TEXT NOT NULL,
	country        TEXT NOT NULL,
	place_key      TEXT NOT NULL, -- place, admin1 and country in lower case, for Filter.Place
	event_type     TEXT NOT NULL,
	alleged_origin TEXT NOT NULL,
	against        TEXT NOT NULL,
	status         TEXT NOT NULL,
	doc            BLOB NOT NULL -- last, so that scans skip it
) STRICT;
CREATE INDEX subjects_kind ON subjects (kind, idx);
CREATE INDEX subjects_status ON subjects (kind, status, idx);
CREATE INDEX subjects_event_type ON subjects (kind, event_type, idx);
CREATE INDEX subjects_at ON subjects (kind, at);

CREATE TABLE charters (
	version INTEGER PRIMARY KEY,
	idx     INTEGER NOT NULL REFERENCES verdicts (idx),
	doc     BLOB NOT NULL
) STRICT;

CREATE TABLE access_denials (
	idx     INTEGER PRIMARY KEY REFERENCES verdicts (idx),
	id      TEXT NOT NULL,
	author  TEXT NOT NULL,
	party   TEXT NOT NULL,
	subject TEXT NOT NULL,
	place   TEXT NOT NULL,
	at      TEXT NOT NULL,
	doc     BLOB NOT NULL
) STRICT;

CREATE TABLE documents (
	name TEXT PRIMARY KEY,
	doc  BLOB NOT NULL
) STRICT;
`

// migrate brings the schema of db up to date, in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cannot migrate schema: %w", err)
	}
	defer tx.Rollback()
	// meta holds the schema version and the store's progress:
	// schema_version, next (the next log index) and clock (microseconds).
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS meta (
		key   TEXT PRIMARY KEY,
		value INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("cannot migrate schema: %w", err)
	}
	migrations := migrations()
	var version int
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&version)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("cannot read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this truce's %d: use a newer truce, or rebuild the store from the log", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("cannot migrate schema to version %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('schema_version', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, len(migrations)); err != nil {
		return fmt.Errorf("cannot save schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cannot migrate schema: %w", err)
	}
	return nil
}

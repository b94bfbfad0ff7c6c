package sqlite_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/truce-mechanism/truce/internal/store"
	"github.com/truce-mechanism/truce/internal/store/sqlite"
	"github.com/truce-mechanism/truce/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "store.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestStorePersistent(t *testing.T) {
	dir := t.TempDir()
	storetest.RunPersistent(t, func(t *testing.T, name string) store.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(dir, name+".db"))
		if err != nil {
			t.Fatalf("Open(%s): %v", name, err)
		}
		return s
	})
}

// TestOddPath opens a store whose path a careless DSN would take apart.
func TestOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x=1#frag", "store%20.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %q: %v", path, err)
	}
}

// TestNewerSchema checks that Open refuses a database from a newer truce
// rather than misreading it.
func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var version int
	if err := db.QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&version); err != nil {
		t.Fatalf("reading schema_version: %v", err)
	}
	if version < 1 {
		t.Fatalf("schema_version = %d, want at least 1", version)
	}
	if _, err := db.Exec(`UPDATE meta SET value = value + 1 WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(t.Context(), path)
	if err == nil {
		s.Close()
		t.Fatalf("Open(database of schema version %d) = nil error, want one", version+1)
	}
	if want := fmt.Sprintf("version %d is newer", version+1); !strings.Contains(err.Error(), want) {
		t.Errorf("Open(newer schema) = %q, want it to say %q", err, want)
	}
}

// BenchmarkApply applies batches of 1,000 verdicts and 200 subjects (100
// new, 100 replaced), the size the fold hands over under load.
func BenchmarkApply(b *testing.B) {
	const (
		verdicts = 1000
		subjects = 200
	)
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "store.db"))
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer s.Close()

	t0 := time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC)
	doc := []byte(strings.Repeat(`{"status":"open","votes":[{"member":"m-tr-1","answer":"yes"}]}`, 8))
	batch := func(n int) *store.Batch {
		first := uint64(n * verdicts)
		bt := &store.Batch{Next: first + verdicts, Clock: t0.Add(time.Duration(first+verdicts) * time.Millisecond)}
		for i := range uint64(verdicts) {
			bt.Verdicts = append(bt.Verdicts, store.Verdict{
				Index: first + i, Received: t0.Add(time.Duration(first+i) * time.Millisecond),
				ID: fmt.Sprintf("0193b5c2-7d3e-7c55-9a1d-%012x", first+i), Type: "assessment",
				Author: "m-tr-1", Subject: "0193b5c2-7d3e-7c55-9a1d-000000000000", Accepted: true,
			})
		}
		for i := range uint64(subjects) {
			// Half new, at the batch's first entries; half replacing the
			// previous batch's.
			idx := first + i
			if i >= subjects/2 && n > 0 {
				idx = first - verdicts + i - subjects/2
			}
			bt.Subjects = append(bt.Subjects, store.Subject{
				ID: fmt.Sprintf("0193b5c2-7d3e-7c55-9a1d-%012x", idx), Kind: store.KindIncident, Index: idx,
				Received: t0.Add(time.Duration(idx) * time.Millisecond), Author: "m-af-1", Party: "AF",
				When: t0.Add(-time.Duration(idx) * time.Second), Place: "Spin Boldak", Admin1: "Kandahar",
				Country: "Afghanistan", EventType: "Battles", AllegedOrigin: "PK", Against: "AF",
				Status: "open", Doc: doc,
			})
		}
		return bt
	}

	n := 0
	for b.Loop() {
		b.StopTimer()
		bt := batch(n)
		b.StartTimer()
		if err := s.Apply(b.Context(), bt); err != nil {
			b.Fatalf("Apply: %v", err)
		}
		n++
	}
	b.ReportMetric(float64(n*(verdicts+subjects))/b.Elapsed().Seconds(), "rows/s")
}

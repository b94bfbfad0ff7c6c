package witness

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce/internal/flock"
	"github.com/truce-mechanism/truce/internal/syncfile"
)

// The witness's state is one file per log in DATA/state/, named by the
// log's origin with url.PathEscape, holding the latest checkpoint the
// witness cosigned for that log exactly as GET /checkpoint serves it: the
// checkpoint's text, the log's signatures that verified, and the
// witness's cosignature. Size and root hash are read back from the text,
// so there is nothing else to keep in step. A file is replaced atomically:
// written to a temporary file, synced, renamed over the old one, and the
// folder synced, before the witness answers.
const stateDir = "state"

// stateFile is where the state of the log with this origin is kept.
func stateFile(dir, origin string) string {
	return filepath.Join(dir, stateDir, url.PathEscape(origin))
}

// readState reads a log's latest cosigned checkpoint; nil, with no error,
// if the witness has never cosigned one. A file that does not parse is an
// error, never a fresh start: starting afresh would let the log roll back.
func readState(dir, origin string) ([]byte, checkpoint, error) {
	name := stateFile(dir, origin)
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, checkpoint{}, nil
	}
	if err != nil {
		return nil, checkpoint{}, fmt.Errorf("cannot read state of %s: %w", origin, err)
	}
	n, err := note.Open(b, nil)
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		n, err = unverified.Note, nil
	}
	if err != nil {
		return nil, checkpoint{}, fmt.Errorf("cannot read state of %s: %s: %w", origin, name, err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return nil, checkpoint{}, fmt.Errorf("cannot read state of %s: %s: %v", origin, name, err)
	}
	if cp.origin != origin {
		return nil, checkpoint{}, fmt.Errorf("cannot read state of %s: %s holds a checkpoint of %s", origin, name, cp.origin)
	}
	return b, cp, nil
}

// writeState durably replaces a log's latest cosigned checkpoint.
func writeState(dir, origin string, cosigned []byte) error {
	if err := syncfile.Replace(stateFile(dir, origin), cosigned, 0o600); err != nil {
		return fmt.Errorf("cannot save state of %s: %w", origin, err)
	}
	return nil
}

// lockDir takes an exclusive flock on the data folder itself, so that a
// second witness on the same folder, in this process or another, is
// refused: two would each think they hold the latest state. Closing the
// file releases the lock.
func lockDir(dir string) (*os.File, error) {
	f, err := flock.Lock(dir)
	if errors.Is(err, flock.ErrLocked) {
		return nil, fmt.Errorf("cannot open witness %s: %w", dir, ErrLocked)
	} else if err != nil {
		return nil, fmt.Errorf("cannot lock witness folder: %w", err)
	}
	return f, nil
}

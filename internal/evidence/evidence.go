// Package evidence is the content-addressed store of evidence files. The
// log holds each file's SHA-256 (in an evidence.add statement); the file
// itself lives here, under its hash, and is only kept if it hashes to its
// name.
package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// ErrMismatch is returned by Put when the content does not hash to the
// name, or is not of the expected size.
var ErrMismatch = errors.New("content does not match")

// ErrNotFound is returned by Open for a file the store lacks.
var ErrNotFound = errors.New("no such evidence file")

// Store is a folder of evidence files named by their SHA-256.
type Store struct {
	dir string
}

// New returns the store in dir, creating the folder if needed.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create evidence folder: %w", err)
	}
	return &Store{dir: dir}, nil
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidName reports whether name is a lowercase hex SHA-256.
func ValidName(name string) bool { return hexSHA256.MatchString(name) }

func (s *Store) path(sum string) string {
	return filepath.Join(s.dir, sum[:2], sum)
}

// Has reports whether the store holds the file.
func (s *Store) Has(sum string) bool {
	if !ValidName(sum) {
		return false
	}
	_, err := os.Stat(s.path(sum))
	return err == nil
}

// Put stores the content of r as sum, if it is exactly size bytes and
// hashes to sum. The file appears whole or not at all, and is synced to
// disk before Put returns.
func (s *Store) Put(sum string, size int64, r io.Reader) (err error) {
	if !ValidName(sum) {
		return fmt.Errorf("%w: %q is not a lowercase hex SHA-256", ErrMismatch, sum)
	}
	if s.Has(sum) {
		// Already stored: the upload must still be the same file.
		h := sha256.New()
		n, err := io.Copy(h, io.LimitReader(r, size+1))
		if err != nil {
			return fmt.Errorf("cannot read evidence file: %w", err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); n != size || got != sum {
			return fmt.Errorf("%w: the upload (%d bytes, sha256 %s) is not the stored file %s", ErrMismatch, n, got, sum)
		}
		return nil
	}
	dir := filepath.Dir(s.path(sum))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create evidence folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("cannot create evidence file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, size+1))
	if err != nil {
		return fmt.Errorf("cannot write evidence file: %w", err)
	}
	if n != size {
		return fmt.Errorf("%w: got %d bytes, the evidence record says %d", ErrMismatch, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fmt.Errorf("%w: the content hashes to %s, not %s", ErrMismatch, got, sum)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot sync evidence file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot close evidence file: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(sum)); err != nil {
		return fmt.Errorf("cannot store evidence file: %w", err)
	}
	return nil
}

// Open opens a stored file for reading.
func (s *Store) Open(sum string) (*os.File, error) {
	if !ValidName(sum) {
		return nil, ErrNotFound
	}
	f, err := os.Open(s.path(sum))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/truce-mechanism/truce/internal/syncfile"
)

// A follower's mirror is a folder laid out as C2SP tlog-tiles serves a
// log, so that any C2SP tool can read it (serve it over HTTP, or give
// Tessera's fsck file:///DIR/):
//
//	follow.json             the follower's own record (not C2SP), and the
//	                        one it resumes from: origin, log key, server,
//	                        the accepted checkpoint whole with its size
//	                        and root, when accepted, and what each witness
//	                        showed last
//	checkpoint              a copy of follow.json's checkpoint, for C2SP
//	                        tools; the follower never reads it
//	tile/<L>/<N>[.p/<W>]    every Merkle tile of that tree, verified
//	tile/entries/<N>[.p/<W>] every entry bundle, verified
//
// Accepting a checkpoint is one write: follow.json, to a temporary file
// that is synced, renamed over the old one, and its folder synced. After
// a crash the folder holds either the old record or the new, never half
// of one. The checkpoint file is written after it, the same way, and a
// crash between the two leaves only that copy behind, which the next
// checkpoint accepted mends.
//
// Tiles and bundles are written once verified against a checkpoint's
// root, before that checkpoint is accepted, and renamed into place
// without a sync: a crash can leave one missing or cut short. Nothing in
// the mirror is trusted on resume: what is missing is fetched from the
// server, and what does not verify against the tree is fetched again from
// the server and overwritten before anything is reported; only the
// server's copy failing to verify is a fault.
// SPEC: https://c2sp.org/tlog-tiles
type mirror struct {
	dir string

	mu    sync.Mutex
	saved map[tlog.Tile]bool // written by this process
	// saves counts the files written, for tests and the report.
	saves int
}

// followFile is the follower's own record in the mirror.
const followFile = "follow.json"

// followState is follow.json.
type followState struct {
	// Origin and LogKey are the log's: a mirror is of one log.
	Origin string `json:"origin"`
	LogKey string `json:"log_key"`
	// Server is the server the follower followed last.
	Server string `json:"server"`
	// Checkpoint is the checkpoint accepted last, as served (signatures
	// and all), and Size and Root its tree's.
	Checkpoint string `json:"checkpoint"`
	Size       uint64 `json:"size"`
	Root       string `json:"root"`
	// Accepted is when it was accepted.
	Accepted time.Time `json:"accepted"`
	// Witnesses is what each witness showed last, by URL.
	Witnesses map[string]witnessSeen `json:"witnesses,omitempty"`
}

// witnessSeen is a witness's latest cosigned checkpoint, as the follower
// last read it and found consistent.
type witnessSeen struct {
	Size uint64    `json:"size"`
	Root string    `json:"root"`
	At   time.Time `json:"at"`
}

func openMirror(dir string) (*mirror, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot make the mirror folder: %w", err)
	}
	return &mirror{dir: dir, saved: map[tlog.Tile]bool{}}, nil
}

// load reads follow.json and the accepted checkpoint it holds; nil, nil,
// nil for a new mirror.
func (m *mirror) load() (checkpoint []byte, st *followState, err error) {
	b, err := os.ReadFile(filepath.Join(m.dir, followFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read the mirror's %s: %w", followFile, err)
	}
	st = new(followState)
	if err := json.Unmarshal(b, st); err != nil {
		return nil, nil, fmt.Errorf("cannot read the mirror's %s: %w", followFile, err)
	}
	if st.Checkpoint == "" {
		return nil, nil, fmt.Errorf("cannot read the mirror's %s: it holds no checkpoint", followFile)
	}
	return []byte(st.Checkpoint), st, nil
}

// commit makes checkpoint the accepted one, with st, in one atomic write
// of follow.json; then copies it to the file checkpoint for C2SP tools.
func (m *mirror) commit(checkpoint []byte, st *followState) error {
	st.Checkpoint = string(checkpoint)
	if err := m.record(st); err != nil {
		return err
	}
	if err := syncfile.Replace(filepath.Join(m.dir, "checkpoint"), checkpoint, 0o644); err != nil {
		return fmt.Errorf("cannot write the mirror's checkpoint: %w", err)
	}
	return nil
}

// record writes follow.json.
func (m *mirror) record(st *followState) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := syncfile.Replace(filepath.Join(m.dir, followFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write the mirror's %s: %w", followFile, err)
	}
	return nil
}

// save writes a verified tile or bundle, once; with overwrite, over the
// mirror's copy, which did not verify.
func (m *mirror) save(t tlog.Tile, data []byte, overwrite bool) error {
	m.mu.Lock()
	if m.saved[t] && !overwrite {
		m.mu.Unlock()
		return nil
	}
	m.saved[t] = true
	m.saves++
	m.mu.Unlock()
	name := filepath.Join(m.dir, filepath.FromSlash(tilePath(t)))
	if _, err := os.Stat(name); err == nil && !overwrite {
		return nil // kept from an earlier run, and verified again
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("cannot write %s to the mirror: %w", tilePath(t), err)
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("cannot write %s to the mirror: %w", tilePath(t), err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("cannot write %s to the mirror: %w", tilePath(t), err)
	}
	return nil
}

// fetchTile reads a tile or bundle from the mirror; a partial one from
// the full one when only that is kept. A missing one is an error that
// notFound recognizes.
func (m *mirror) fetchTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	data, err := m.read(t)
	if err != nil && t.W < tileWidth {
		full := t
		full.W = tileWidth
		if fdata, ferr := m.read(full); ferr == nil {
			if t.L == -1 {
				return prefixBundle(fdata, t.W), nil
			}
			if len(fdata) >= t.W*tlog.HashSize {
				return fdata[:t.W*tlog.HashSize], nil
			}
		}
	}
	return data, err
}

func (m *mirror) read(t tlog.Tile) ([]byte, error) {
	p := tilePath(t)
	data, err := os.ReadFile(filepath.Join(m.dir, filepath.FromSlash(p)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &statusError{path: "mirror " + p, code: 404}
	}
	return data, err
}

// mirrorFirst reads tiles and bundles from the mirror, and from the
// server what the mirror lacks: a follower never fetches twice what it
// has verified and kept. What it gives is authenticated like the
// server's, against the tree being replayed.
type mirrorFirst struct {
	m *mirror
	c *client
}

func (s mirrorFirst) fetchTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	if data, err := s.m.fetchTile(ctx, t); err == nil {
		return data, nil
	}
	return s.c.fetchTile(ctx, t)
}

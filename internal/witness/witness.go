// Package witness is a C2SP tlog-witness: it cosigns a log's checkpoints
// only when they are consistent with the latest one it cosigned, so that a
// log cannot show one history to some and another to others without its
// witnesses noticing and refusing.
//
// SPEC: https://c2sp.org/tlog-witness
// SPEC: https://c2sp.org/tlog-cosignature
// SPEC: https://c2sp.org/tlog-checkpoint
//
// Witness.AddCheckpoint is the add-checkpoint call without HTTP, and
// Witness.Handler serves it with GET /checkpoint, GET / and GET /healthz.
// Its state, per log, is the latest checkpoint it cosigned, kept durably
// in a data folder before it answers (see state.go). A validly signed
// checkpoint that it refuses as a fork of that state, or with a proof
// that does not verify, is kept as evidence in the folder's conflicts/,
// once per checkpoint and up to Config.MaxEvidence files per log.
//
// The data folder:
//
//	witness.key  the witness's signed-note Ed25519 private key (mode 0600)
//	logs         the logs it follows: one log verifier key a line
//	state/       per log, the latest checkpoint it cosigned, as served
//	conflicts/   evidence of checkpoints refused as inconsistent
//
// One Witness at a time may hold a folder: Open takes an exclusive flock
// on it and fails with ErrLocked when another holds it.
package witness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/truce-mechanism/truce/internal/syncfile"
)

var (
	// ErrMalformed is returned by AddCheckpoint for a body or checkpoint
	// that does not parse, or an old size over the checkpoint's size.
	ErrMalformed = errors.New("malformed request")
	// ErrUnknownLog is returned for a checkpoint whose origin the witness
	// does not follow.
	ErrUnknownLog = errors.New("unknown log")
	// ErrBadSignature is returned for a checkpoint that no key the witness
	// trusts for its origin signed.
	ErrBadSignature = errors.New("no valid signature by the log's key")
	// ErrRootMismatch is returned for a checkpoint of the size the witness
	// last cosigned but with another root hash.
	ErrRootMismatch = errors.New("checkpoint has the size of the latest cosigned one but another root hash")
	// ErrInconsistent is returned for a checkpoint whose consistency proof
	// does not verify.
	ErrInconsistent = errors.New("consistency proof does not verify")
	// ErrNotCosigned is returned by Checkpoint for a log the witness follows
	// but has not cosigned a checkpoint of yet.
	ErrNotCosigned = errors.New("no checkpoint cosigned yet")
	// ErrLocked is returned by Open when another Witness holds the folder.
	ErrLocked = errors.New("witness folder is in use")
)

// ConflictError is returned by AddCheckpoint when the request's old size
// is not the size of the latest checkpoint the witness cosigned. The
// client should retry with Size as the old size and a proof from it.
type ConflictError struct {
	// Size is the size of the latest checkpoint the witness cosigned for
	// the log, 0 if none.
	Size uint64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("old size is not the latest cosigned size, %d", e.Size)
}

// Config configures Open. Zero values are the documented defaults.
type Config struct {
	// Dir is the data folder, created if absent.
	Dir string
	// Signer cosigns checkpoints. It must make C2SP cosignature/v1
	// signatures, as NewSigner's does; its name is the witness's name.
	// The cosignatures' timestamps are the signer's business: the one
	// from NewSigner (formats/note) always reads the system clock.
	Signer note.Signer
	// VerifierKey is Signer's cosignature verifier key, shown at GET /;
	// not shown when empty.
	VerifierKey string
	// Logs are the logs the witness follows, by origin: each log's
	// verifier key, a standard Ed25519 signed-note vkey.
	Logs map[string]string
	// Logger receives the witness's messages, evidence warnings among
	// them; discarded when nil.
	Logger *slog.Logger
	// Now is the clock that dates evidence files; time.Now when nil.
	Now func() time.Time
	// MaxEvidence is how many evidence files the witness keeps per log,
	// those already in the folder included; past it, refusals are logged
	// and not kept. DefaultMaxEvidence when zero.
	MaxEvidence int
}

// Witness is an open witness. Its methods are safe for concurrent use.
type Witness struct {
	dir    string
	signer note.Signer
	vkey   string
	log    *slog.Logger
	now    func() time.Time
	lock   *os.File
	logs   map[string]*logState // fixed at Open

	maxEvidence int
}

// logState is one log's verifier and latest cosigned checkpoint. Its
// mutex makes check-and-persist one step, as the spec requires: two
// requests racing could otherwise roll the state back.
type logState struct {
	origin   string
	vkey     string
	verifier note.Verifier

	mu       sync.Mutex
	cosigned []byte                     // the latest cosigned checkpoint as served; nil if none
	cp       checkpoint                 // cosigned, parsed
	seen     map[[sha256.Size]byte]bool // offered checkpoints kept as evidence, by text
	evidence int                        // evidence files of this log, at most maxEvidence
	dropping bool                       // whether evidence was dropped for the cap
}

// Open opens the witness in cfg.Dir, creating the folder if absent, and
// reads its state of each log in cfg.Logs.
func Open(ctx context.Context, cfg Config) (*Witness, error) {
	if cfg.Dir == "" {
		return nil, errors.New("cannot open witness: no folder given")
	}
	if cfg.Signer == nil {
		return nil, errors.New("cannot open witness: no signer given")
	}
	if len(cfg.Logs) == 0 {
		return nil, errors.New("cannot open witness: it follows no log")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxEvidence == 0 {
		cfg.MaxEvidence = DefaultMaxEvidence
	}
	w := &Witness{
		dir:    cfg.Dir,
		signer: cfg.Signer,
		vkey:   cfg.VerifierKey,
		log:    cfg.Logger,
		now:    cfg.Now,
		logs:   make(map[string]*logState, len(cfg.Logs)),

		maxEvidence: cfg.MaxEvidence,
	}
	for origin, vkey := range cfg.Logs {
		if err := checkOrigin(origin); err != nil {
			return nil, fmt.Errorf("cannot open witness: %v", err)
		}
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return nil, fmt.Errorf("cannot open witness: log key for %s: %w", origin, err)
		}
		w.logs[origin] = &logState{origin: origin, vkey: vkey, verifier: v, seen: map[[sha256.Size]byte]bool{}}
	}

	if err := makeDirs(cfg.Dir); err != nil {
		return nil, fmt.Errorf("cannot create witness folder: %w", err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	w.lock = lock
	if err := syncfile.RemoveTemps(filepath.Join(cfg.Dir, stateDir)); err != nil {
		w.Close()
		return nil, fmt.Errorf("cannot clean witness state: %w", err)
	}
	origins := make([]string, 0, len(w.logs))
	for origin := range w.logs {
		origins = append(origins, origin)
	}
	counts, err := countEvidence(cfg.Dir, origins)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("cannot read witness evidence: %w", err)
	}
	for _, l := range w.logs {
		l.evidence = counts[l.origin]
		l.cosigned, l.cp, err = readState(cfg.Dir, l.origin)
		if err != nil {
			w.Close()
			return nil, err
		}
		w.log.Debug("following log", "origin", l.origin, "size", l.cp.size, "cosigned", l.cosigned != nil)
	}
	return w, nil
}

// makeDirs makes the data folder and its state/ and conflicts/, and syncs
// the folders that hold them: a state file in a folder whose own entry
// was lost in a crash would be lost with it.
func makeDirs(dir string) error {
	for _, sub := range []string{stateDir, conflictsDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	if err := syncfile.SyncDir(dir); err != nil {
		return err
	}
	return syncfile.SyncDir(filepath.Dir(dir))
}

// checkOrigin refuses origins that could not be checkpoints' first lines,
// or whose escaped form is not a plain file name.
func checkOrigin(origin string) error {
	if origin == "" || origin == "." || origin == ".." || strings.ContainsAny(origin, "\n\x00") {
		return fmt.Errorf("%q is not a log origin", origin)
	}
	return nil
}

// Close releases the data folder.
func (w *Witness) Close() error {
	if err := w.lock.Close(); err != nil {
		return fmt.Errorf("cannot unlock witness folder: %w", err)
	}
	return nil
}

// Name returns the witness's name, its signer's.
func (w *Witness) Name() string { return w.signer.Name() }

// AddCheckpoint handles an add-checkpoint request body. It returns the
// witness's cosignature line(s) for the checkpoint, once its state records
// the checkpoint durably. It fails with ErrMalformed, ErrUnknownLog,
// ErrBadSignature, a *ConflictError, ErrRootMismatch or ErrInconsistent as
// the spec's 400, 404, 403, 409, 409 and 422 answers; other errors are the
// witness's own failures.
//
// SPEC: https://c2sp.org/tlog-witness#add-checkpoint
func (w *Witness) AddCheckpoint(ctx context.Context, body []byte) ([]byte, error) {
	req, err := ParseRequest(body)
	if err != nil {
		return nil, err
	}
	origin, _, _ := strings.Cut(string(req.Checkpoint), "\n")
	l := w.logs[origin]
	if l == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownLog, origin)
	}
	// Open ignores signatures by keys other than the log's.
	n, err := note.Open(req.Checkpoint, note.VerifierList(l.verifier))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return nil, fmt.Errorf("%w of %s", ErrBadSignature, origin)
		}
		return nil, fmt.Errorf("%w: checkpoint: %v", ErrMalformed, err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint: %v", ErrMalformed, err)
	}
	if req.Old > cp.size {
		return nil, fmt.Errorf("%w: old size %d is over the checkpoint's size %d", ErrMalformed, req.Old, cp.size)
	}

	cosig, ev, err := w.add(ctx, l, req, n, cp, body)
	if ev != nil {
		w.keepEvidence(l, ev)
	}
	return cosig, err
}

// add is AddCheckpoint's compare-and-persist step, under l.mu. It returns
// the evidence to keep, if any, for the caller to write once l.mu is
// released.
func (w *Witness) add(ctx context.Context, l *logState, req *Request, n *note.Note, cp checkpoint, body []byte) (cosig []byte, ev *evidence, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	held := l.cosigned != nil
	// A validly signed checkpoint that contradicts the held one is kept
	// whatever old size the client believed in. A smaller one is not:
	// it proves nothing (see the kinds of evidence in evidence.go).
	if held && cp.size == l.cp.size && cp.root != l.cp.root {
		ev = l.noteEvidence(KindFork, n.Text, body, cp, w.maxEvidence)
	}
	if req.Old != l.cp.size {
		return nil, ev, &ConflictError{Size: l.cp.size}
	}
	switch {
	case cp.size == req.Old:
		if len(req.Proof) != 0 {
			return nil, ev, fmt.Errorf("%w: a proof between trees of one size is empty", ErrInconsistent)
		}
		if held && cp.root != l.cp.root {
			return nil, ev, ErrRootMismatch
		}
		if cp.size == 0 && cp.root != tlog.Hash(sha256.Sum256(nil)) {
			return nil, nil, fmt.Errorf("%w: an empty tree's root is SHA-256 of nothing", ErrInconsistent)
		}
	case req.Old == 0:
		// Every tree is consistent with the empty tree.
		if len(req.Proof) != 0 {
			return nil, nil, fmt.Errorf("%w: a proof from size 0 is empty", ErrInconsistent)
		}
	default:
		if err := tlog.CheckTree(req.Proof, int64(cp.size), cp.root, int64(req.Old), l.cp.root); err != nil {
			ev = l.noteEvidence(KindInconsistent, n.Text, body, cp, w.maxEvidence)
			return nil, ev, fmt.Errorf("%w from size %d to %d", ErrInconsistent, req.Old, cp.size)
		}
	}

	// SPEC: https://c2sp.org/tlog-cosignature: the witness signs the
	// checkpoint's text; the answer is only its signature line.
	signed, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot cosign checkpoint: %w", err)
	}
	cosig = signed[bytes.LastIndex(signed, []byte("\n\n"))+2:]
	logSigned, err := note.Sign(&note.Note{Text: n.Text, Sigs: n.Sigs})
	if err != nil {
		return nil, nil, fmt.Errorf("cannot cosign checkpoint: %w", err)
	}
	cosigned := append(logSigned, cosig...)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := writeState(w.dir, l.origin, cosigned); err != nil {
		return nil, nil, err
	}
	l.cosigned, l.cp = cosigned, cp
	return cosig, nil, nil
}

// Checkpoint returns the latest checkpoint the witness cosigned for the
// log with this origin: the log's signed note with the witness's
// cosignature added. It fails with ErrUnknownLog or ErrNotCosigned.
func (w *Witness) Checkpoint(origin string) ([]byte, error) {
	l := w.logs[origin]
	if l == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownLog, origin)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cosigned == nil {
		return nil, fmt.Errorf("%w for %s", ErrNotCosigned, origin)
	}
	return bytes.Clone(l.cosigned), nil
}

// LogStatus is what a witness knows of one log it follows.
type LogStatus struct {
	// Origin is the log's origin.
	Origin string
	// VerifierKey is the log's key the witness trusts.
	VerifierKey string
	// Size is the size of the latest checkpoint the witness cosigned.
	Size uint64
	// Cosigned says whether the witness has cosigned one at all.
	Cosigned bool
}

// Logs returns the status of each log the witness follows, by origin.
func (w *Witness) Logs() []LogStatus {
	out := make([]LogStatus, 0, len(w.logs))
	for _, l := range w.logs {
		l.mu.Lock()
		out = append(out, LogStatus{Origin: l.origin, VerifierKey: l.vkey, Size: l.cp.size, Cosigned: l.cosigned != nil})
		l.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Origin < out[j].Origin })
	return out
}

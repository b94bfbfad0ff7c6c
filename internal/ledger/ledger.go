// Package ledger is the mechanism's append-only log: a C2SP tlog-tiles log
// kept by Tessera's POSIX driver in a folder, with checkpoints signed as
// C2SP signed notes.
//
// Add returns once Tessera has durably sequenced an entry. With the POSIX
// driver, sequencing and integration are one synchronous step: when Add
// returns, the entry bundle, the Merkle tiles and the tree state are on disk
// (written to a temporary file with O_SYNC, renamed, parent folder synced),
// and Size and Entries already include the entry. Publication is separate:
// Tessera signs and writes a new checkpoint at most once per
// CheckpointInterval, so a checkpoint covering the entry appears up to about
// two intervals later. WaitPublished waits for it.
//
// One Ledger at a time may hold a folder. Open takes an exclusive flock(2)
// on the folder itself and fails with ErrLocked if another Ledger, in this
// process or another, has it: Tessera's own locks are fcntl(2) locks, which
// do not exclude a second opener in the same process.
//
// Tessera logs through klog, a process-wide logger that cannot be set up
// without global state, so this package leaves it alone. In normal
// operation klog prints two lines to stderr, both when a new log is created.
//
// Beyond Open, Add, Size, Entries, Checkpoint, WaitPublished, Handler and
// Close, the package has GenerateKey, NewSigner and VerifierKey for log keys
// (standard signed-note Ed25519 keys), MaxEntrySize, and the errors
// ErrTooLarge, ErrLocked and ErrClosed for callers to match with errors.Is.
package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce/internal/flock"
)

// MaxEntrySize is the largest entry Add accepts: C2SP tlog-tiles entry
// bundles prefix each entry with a 16-bit length.
const MaxEntrySize = 1<<16 - 1

// Defaults for the zero values of Config.
const (
	DefaultBatchMaxSize       = 1024
	DefaultBatchMaxAge        = 20 * time.Millisecond
	DefaultCheckpointInterval = time.Second
)

// minCheckpointInterval is the smallest interval Tessera's POSIX driver
// accepts.
const minCheckpointInterval = 100 * time.Millisecond

// pollInterval is how often WaitPublished reads the checkpoint.
const pollInterval = 25 * time.Millisecond

var (
	// ErrTooLarge is returned by Add for an entry over MaxEntrySize bytes.
	ErrTooLarge = errors.New("entry too large")
	// ErrLocked is returned by Open when another Ledger holds the folder.
	ErrLocked = errors.New("log folder is in use")
	// ErrClosed is returned by Add after Close.
	ErrClosed = errors.New("ledger is closed")
)

// Config configures Open. Zero values are the documented defaults.
type Config struct {
	// Dir is the log folder, created if absent. It holds what C2SP
	// tlog-tiles serves (checkpoint, tile/) and Tessera's private .state/.
	Dir string
	// Signer signs checkpoints; its name is the log's origin line. It must
	// be a standard Ed25519 signed-note key (see GenerateKey).
	Signer note.Signer
	// BatchMaxSize is the most entries Tessera sequences in one batch;
	// DefaultBatchMaxSize when zero.
	BatchMaxSize uint
	// BatchMaxAge is the longest an entry waits for its batch to fill
	// before the batch is sequenced anyway; DefaultBatchMaxAge when zero.
	BatchMaxAge time.Duration
	// CheckpointInterval is how often a new checkpoint may be published;
	// DefaultCheckpointInterval when zero. Tessera's minimum is 100ms.
	CheckpointInterval time.Duration
	// Logger receives the ledger's own messages; discarded when nil.
	Logger *slog.Logger
	// Witnesses, when not nil, says whose cosignatures each checkpoint
	// needs: Tessera sends every new checkpoint to those witnesses
	// (C2SP tlog-witness) and publishes it only once their cosignatures
	// meet the policy. Until then the published checkpoint stays where it
	// was, while Add goes on sequencing entries: a lost witness stalls
	// publication, never appends.
	Witnesses Witnesses
	// WitnessTimeout bounds one publication's wait for the witnesses;
	// DefaultWitnessTimeout when zero.
	WitnessTimeout time.Duration
	// HTTPClient sends checkpoints to the witnesses; http.DefaultClient
	// when nil.
	HTTPClient *http.Client
	// ShutdownTimeout bounds how long Close waits for a checkpoint that
	// covers every entry; DefaultShutdownTimeout when zero. Witnesses that
	// do not answer make Close wait this long; the entries are durable
	// all the same and are published after the next start.
	ShutdownTimeout time.Duration
}

// DefaultShutdownTimeout is Close's wait for a last checkpoint when
// Config.ShutdownTimeout is zero.
const DefaultShutdownTimeout = 15 * time.Second

// Ledger is an open log. Its methods are safe for concurrent use.
type Ledger struct {
	dir    string
	log    *slog.Logger
	lock   *os.File // the folder, flocked
	add    tessera.AddFn
	reader tessera.LogReader
	stop   func(context.Context) error // Tessera's shutdown
	cancel context.CancelFunc          // ends Tessera's background work

	batch uint       // Tessera's largest batch
	pub   *publisher // nil without Config.Witnesses

	mu       sync.RWMutex // guards closed against inflight.Add
	closed   bool
	inflight sync.WaitGroup
}

// Open opens the log in cfg.Dir, creating it if absent. An existing log is
// resumed: Add continues after its last entry.
func Open(ctx context.Context, cfg Config) (*Ledger, error) {
	if cfg.Dir == "" {
		return nil, errors.New("cannot open log: no folder given")
	}
	if cfg.Signer == nil {
		return nil, errors.New("cannot open log: no checkpoint signer given")
	}
	if cfg.BatchMaxSize == 0 {
		cfg.BatchMaxSize = DefaultBatchMaxSize
	}
	if cfg.BatchMaxAge == 0 {
		cfg.BatchMaxAge = DefaultBatchMaxAge
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	if cfg.CheckpointInterval < minCheckpointInterval {
		return nil, fmt.Errorf("cannot open log: checkpoint interval %v is under Tessera's minimum %v", cfg.CheckpointInterval, minCheckpointInterval)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WitnessTimeout == 0 {
		cfg.WitnessTimeout = DefaultWitnessTimeout
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}

	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create log folder: %w", err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}

	driver, err := posix.New(ctx, posix.Config{Path: cfg.Dir, HTTPClient: cfg.HTTPClient})
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("cannot open log storage: %w", err)
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(cfg.Signer).
		WithBatching(cfg.BatchMaxSize, cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval).
		WithShutdownTimeout(cfg.ShutdownTimeout)
	var pub *publisher
	if cfg.Witnesses != nil {
		_, err := os.Stat(filepath.Join(cfg.Dir, layout.CheckpointPath))
		pub = newPublisher(cfg, errors.Is(err, os.ErrNotExist))
		opts.WithWitnesses(tessera.NewWitnessGroup(1, pub), &tessera.WitnessOptions{Timeout: cfg.WitnessTimeout})
	}
	// Tessera's background work (sequencing, publishing, garbage collection)
	// lives as long as this context, which must outlast Open's.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	appender, stop, reader, err := tessera.NewAppender(bg, driver, opts)
	if err != nil {
		cancel()
		lock.Close()
		return nil, fmt.Errorf("cannot start log appender: %w", err)
	}
	if pub != nil {
		pub.reader.Store(&reader)
	}
	l := &Ledger{
		dir:    cfg.Dir,
		log:    cfg.Logger,
		lock:   lock,
		add:    appender.Add,
		reader: reader,
		stop:   stop,
		cancel: cancel,
		batch:  cfg.BatchMaxSize,
		pub:    pub,
	}
	size, err := l.Size(ctx)
	if err != nil {
		l.Close(ctx)
		return nil, err
	}
	l.log.Info("opened log", "dir", cfg.Dir, "origin", cfg.Signer.Name(), "size", size)
	return l, nil
}

// lockDir takes an exclusive flock on the folder itself. Unlike fcntl locks,
// flock locks belong to the open file, so a second Open in the same process
// is refused too. Closing the file releases the lock.
func lockDir(dir string) (*os.File, error) {
	f, err := flock.Lock(dir)
	if errors.Is(err, flock.ErrLocked) {
		return nil, fmt.Errorf("cannot open log %s: %w", dir, ErrLocked)
	} else if err != nil {
		return nil, fmt.Errorf("cannot lock log folder: %w", err)
	}
	return f, nil
}

// Add appends entry to the log and returns its index once Tessera has
// durably sequenced it; it does not wait for a checkpoint. An entry over
// MaxEntrySize bytes fails with ErrTooLarge. If ctx ends first, Add returns
// ctx's error, and the entry may still be logged.
func (l *Ledger) Add(ctx context.Context, entry []byte) (uint64, error) {
	wait := l.Queue(ctx, entry)
	type result struct {
		idx uint64
		err error
	}
	done := make(chan result, 1)
	go func() {
		idx, err := wait()
		done <- result{idx, err}
	}()
	select {
	case r := <-done:
		return r.idx, r.err
	case <-ctx.Done():
		return 0, fmt.Errorf("cannot add entry: %w", ctx.Err())
	}
}

// begin counts an operation in flight, so that Close waits for it, or
// fails once the ledger is closed.
func (l *Ledger) begin(op string) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return fmt.Errorf("cannot %s: %w", op, ErrClosed)
	}
	l.inflight.Add(1)
	return nil
}

// Size returns the size of the integrated tree: every entry Add has
// returned an index for, whether or not a checkpoint covers it yet.
func (l *Ledger) Size(ctx context.Context) (uint64, error) {
	size, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return 0, fmt.Errorf("cannot read log size: %w", err)
	}
	return size, nil
}

// Entries returns the raw bytes of the entries at indexes [from, to), read
// from the entry bundles on disk. It fails if to is beyond Size.
func (l *Ledger) Entries(ctx context.Context, from, to uint64) ([][]byte, error) {
	if from > to {
		return nil, fmt.Errorf("cannot read entries [%d, %d): empty range", from, to)
	}
	size, err := l.Size(ctx)
	if err != nil {
		return nil, err
	}
	if to > size {
		return nil, fmt.Errorf("cannot read entries [%d, %d): log size is %d", from, to, size)
	}
	entries := make([][]byte, 0, to-from)
	// SPEC: https://c2sp.org/tlog-tiles#log-entries
	for r := range layout.Range(from, to-from, size) {
		raw, err := l.reader.ReadEntryBundle(ctx, r.Index, r.Partial)
		if err != nil {
			return nil, fmt.Errorf("cannot read entry bundle %d: %w", r.Index, err)
		}
		var b api.EntryBundle
		if err := b.UnmarshalText(raw); err != nil {
			return nil, fmt.Errorf("cannot parse entry bundle %d: %w", r.Index, err)
		}
		if uint(len(b.Entries)) < r.First+r.N {
			return nil, fmt.Errorf("cannot read entry bundle %d: %d entries, want at least %d", r.Index, len(b.Entries), r.First+r.N)
		}
		entries = append(entries, b.Entries[r.First:r.First+r.N]...)
	}
	return entries, nil
}

// Checkpoint returns the latest published checkpoint, a signed note.
func (l *Ledger) Checkpoint(ctx context.Context) ([]byte, error) {
	cp, err := l.reader.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot read checkpoint: %w", err)
	}
	return cp, nil
}

// WaitPublished waits until the published checkpoint covers at least size
// entries, and returns it.
func (l *Ledger) WaitPublished(ctx context.Context, size uint64) ([]byte, error) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		cp, err := l.reader.ReadCheckpoint(ctx)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("cannot read checkpoint: %w", err)
		}
		if err == nil {
			// The checkpoint is our own file, so its body is read without
			// checking the signature: it begins the note's text.
			var c f_log.Checkpoint
			if _, err := c.Unmarshal(cp); err != nil {
				return nil, fmt.Errorf("cannot parse checkpoint: %w", err)
			}
			if c.Size >= size {
				return cp, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cannot wait for a checkpoint of size %d: %w", size, ctx.Err())
		case <-t.C:
		}
	}
}

// Close stops the ledger: it refuses new entries, waits for those being
// added, waits until a published checkpoint covers all of them, and then
// stops Tessera's background work and releases the folder. Publication can
// take up to about two checkpoint intervals. Tessera gives no way to wait
// for its goroutines to end: they are told to stop, and at worst finish a
// checkpoint write or garbage-collection pass already under way, both of
// which are idempotent, shortly after Close returns.
func (l *Ledger) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()

	// Tessera's shutdown only waits for the futures that have resolved, so
	// let every Add in flight resolve first. Batches are flushed after at
	// most BatchMaxAge, so this is short.
	var err error
	idle := make(chan struct{})
	go func() {
		l.inflight.Wait()
		close(idle)
	}()
	select {
	case <-idle:
		if e := l.stop(ctx); e != nil {
			err = fmt.Errorf("cannot shut down log: %w", e)
		}
	case <-ctx.Done():
		err = fmt.Errorf("cannot shut down log: %w", ctx.Err())
	}
	l.cancel()
	if e := l.lock.Close(); e != nil && err == nil {
		err = fmt.Errorf("cannot unlock log folder: %w", e)
	}
	l.log.Info("closed log", "dir", l.dir, "error", err)
	return err
}

// GenerateKey makes a new log key for origin with crypto/rand: skey is the
// signed-note private key for NewSigner, vkey the verifier key that clients
// and auditors check checkpoints with.
func GenerateKey(origin string) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("cannot generate log key: %w", err)
	}
	return skey, vkey, nil
}

// NewSigner returns the checkpoint signer for a signed-note private key, as
// GenerateKey makes.
func NewSigner(skey string) (note.Signer, error) {
	s, err := note.NewSigner(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("cannot read log key: %w", err)
	}
	return s, nil
}

// VerifierKey returns the verifier key for a signed-note Ed25519 private
// key, so a server that keeps only skey can still publish its vkey.
func VerifierKey(skey string) (string, error) {
	// SPEC: https://c2sp.org/signed-note: PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>
	s, err := NewSigner(skey)
	if err != nil {
		return "", err
	}
	// The name has no +; the base64 key may.
	parts := strings.SplitN(strings.TrimSpace(skey), "+", 5)
	key, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return "", errors.New("cannot read log key: not an Ed25519 signed-note key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return "", fmt.Errorf("cannot make verifier key: %w", err)
	}
	return vkey, nil
}

// Queue hands an entry to the log without waiting, and returns the
// function that waits until it is durably sequenced and gives its index.
// The caller must call wait exactly once. Entries queued one after another
// by one goroutine are sequenced in that order only within one Tessera
// batch; callers that need an order wait as AddBatch does.
func (l *Ledger) Queue(ctx context.Context, entry []byte) (wait func() (uint64, error)) {
	if len(entry) > MaxEntrySize {
		err := fmt.Errorf("cannot add entry of %d bytes (at most %d): %w", len(entry), MaxEntrySize, ErrTooLarge)
		return func() (uint64, error) { return 0, err }
	}
	if err := l.begin("add entry"); err != nil {
		return func() (uint64, error) { return 0, err }
	}
	// Tessera hashes the entry now and writes it later: a copy keeps the
	// two equal even if the caller reuses its buffer after giving up.
	future := l.add(ctx, tessera.NewEntry(bytes.Clone(entry)))
	return func() (uint64, error) {
		defer l.inflight.Done()
		idx, err := future()
		if err != nil {
			return 0, fmt.Errorf("cannot add entry: %w", err)
		}
		return idx.Index, nil
	}
}

// Package demo makes the simulated mechanism that truce demo serves: six
// weeks of invented incidents, evidence, replies, votes and findings along
// the Afghanistan–Pakistan border, as the members of an imagined
// mechanism would have logged them. Everything in it says it is
// simulated.
//
// A demo is generated deterministically from a seed: the same Seed and End
// give byte-identical log entries, the same member keys and the same log
// key. Generate plans the history (history.go), signs every statement,
// checks each against the fold as it goes, and only then writes the data
// folder: member keys, evidence files, the log (in one batch), and the
// SQLite projection, which server.Open catches up from the log.
package demo

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/evidence"
	"github.com/truce-mechanism/truce/internal/ledger"
	"github.com/truce-mechanism/truce/internal/server"
	"github.com/truce-mechanism/truce/internal/state"
	"golang.org/x/mod/sumdb/note"
)

// Config configures Generate and Open. Zero values are the defaults.
type Config struct {
	// Seed chooses the history; the same Seed and End give the same log.
	// Zero is a seed like any other (the truce demo command defaults to 1).
	Seed int64
	// End is the simulated history's last moment; its first is Days days
	// earlier. Zero means the start of the current hour, UTC.
	End time.Time
	// Scale multiplies the number of incidents, actions and access
	// denials, for tests that need a smaller history; zero means 1, the
	// full history of a few hundred incidents.
	Scale float64
	// Logger receives progress messages; discarded when nil.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.End.IsZero() {
		c.End = time.Now().UTC().Truncate(time.Hour)
	}
	c.End = c.End.UTC().Truncate(time.Millisecond)
	if c.Scale <= 0 {
		c.Scale = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ErrNotEmpty is returned by Generate for a folder that already holds
// something.
var ErrNotEmpty = errors.New("the folder is not empty")

// ErrNotDemo is returned by Open for a folder that holds a mechanism that
// Generate did not finish making.
var ErrNotDemo = errors.New("the folder holds a mechanism that is not a finished demo")

// Files and folders of the data folder (server.InitWithKey writes
// mechanism.json and log.key, from a seeded log key).
const (
	logDir      = "log"
	evidenceDir = "evidence"
	// KeysDir holds every simulated member's private key, as
	// KeysDir/<member-id>.pem.
	KeysDir = "keys"
	// SummaryFile, written last, marks a finished demo and keeps its
	// Summary.
	SummaryFile = "demo.json"
)

// Generate makes a new simulated mechanism in dir, which must be absent
// or empty, and returns what it holds. On failure it removes what it
// wrote.
func Generate(ctx context.Context, dir string, cfg Config) (*Summary, error) {
	d, err := generate(ctx, dir, cfg.withDefaults())
	if err != nil {
		return nil, err
	}
	if err := d.Close(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("cannot close the generated mechanism: %w", err)
	}
	return d.Summary, nil
}

// Demo is an opened demo mechanism.
type Demo struct {
	// Dir is the data folder.
	Dir string
	// Server is the opened mechanism; the caller closes the Demo.
	Server *server.Server
	// Summary describes the simulated history.
	Summary *Summary
	// Generated is true when Open made the mechanism, false when it
	// reused one; Took is how long making it took.
	Generated bool
	Took      time.Duration

	witnesses *witnesses
}

// Handler serves the mechanism, and the demo's witnesses under
// WitnessPath.
func (d *Demo) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(WitnessPath, d.witnesses.Handler())
	mux.Handle("/", d.Server.Handler())
	return mux
}

// Close closes the mechanism and then its witnesses, which the
// mechanism's last checkpoint may still need.
func (d *Demo) Close(ctx context.Context) error {
	return errors.Join(d.Server.Close(ctx), d.witnesses.Close())
}

// Open opens the demo mechanism in dir, generating it first when dir is
// absent or empty. A folder that holds a finished demo is reused as it
// is, whatever cfg says; one that holds another mechanism, or something
// else, is refused.
func Open(ctx context.Context, dir string, cfg Config) (*Demo, error) {
	cfg = cfg.withDefaults()
	if _, err := server.ReadInfo(dir); errors.Is(err, server.ErrNoMechanism) {
		start := time.Now()
		d, err := generate(ctx, dir, cfg)
		if err != nil {
			return nil, err
		}
		d.Generated, d.Took = true, time.Since(start)
		return d, nil
	} else if err != nil {
		return nil, err
	}
	sum, err := ReadSummary(dir)
	if err != nil {
		return nil, err
	}
	info, err := server.ReadInfo(dir)
	if err != nil {
		return nil, err
	}
	ws, err := openWitnesses(ctx, dir, sum.Seed, info.LogKey)
	if err != nil {
		return nil, err
	}
	srv, err := server.Open(ctx, server.Config{Dir: dir, Logger: cfg.Logger, HTTPClient: ws.client})
	if err != nil {
		ws.Close()
		return nil, err
	}
	return &Demo{Dir: dir, Server: srv, Summary: sum, witnesses: ws}, nil
}

// ReadSummary reads the Summary of the demo in dir.
func ReadSummary(dir string) (*Summary, error) {
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (it has no %s)", dir, ErrNotDemo, SummaryFile)
	} else if err != nil {
		return nil, fmt.Errorf("cannot read the demo's summary: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", filepath.Join(dir, SummaryFile), err)
	}
	return &s, nil
}

// KeyFile is the path of a simulated member's private key.
func (d *Demo) KeyFile(member string) string {
	return filepath.Join(d.Dir, KeysDir, member+".pem")
}

// history is a generated history, in memory, checked by the fold.
type history struct {
	entries [][]byte
	files   []*file
	keys    map[string]ed25519.PrivateKey
	state   *state.State
	skey    string
	vkey    string
	summary *Summary
}

// build plans the history, signs it, and applies every entry to a fresh
// state: an entry the fold rejects is a bug in the planner.
func build(cfg Config) (*history, error) {
	p := newPlanner(cfg)
	var err error
	if p.witnesses, err = charterWitnesses(cfg.Seed); err != nil {
		return nil, err
	}
	events := p.plan()
	envs, err := sign(events, p.keys)
	if err != nil {
		return nil, err
	}
	st := state.New(Origin)
	h := &history{files: p.files, keys: p.keys, state: st, entries: make([][]byte, 0, len(events))}
	for i, ev := range events {
		data, err := truce.MarshalEntry(ev.at, envs[i])
		if err != nil {
			return nil, fmt.Errorf("cannot encode %s %s: %w", ev.typ, ev.id, err)
		}
		// The fold sees the entry as the log will hold it. The signatures
		// were just made, so it need not verify them (server.Open does,
		// when it folds the log again), but it still checks whose they are.
		e, err := truce.ParseEntry(data)
		if err != nil {
			return nil, fmt.Errorf("cannot decode %s %s: %w", ev.typ, ev.id, err)
		}
		signed := map[string]bool{}
		for _, s := range envs[i].Signatures {
			signed[s.KeyID] = true
		}
		if v := st.Apply(uint64(i), e, signed); !v.Accepted {
			return nil, fmt.Errorf("the simulation made a statement the fold rejects (a bug in the demo): entry %d, %s %s by %s at %s: %w",
				i, ev.typ, ev.id, ev.author, ev.at.Format(truce.ReceivedLayout), v.Err)
		}
		if i%512 == 0 {
			st.ForgetChanges() // only the state matters here
		}
		h.entries = append(h.entries, data)
	}
	st.ForgetChanges()
	h.skey, h.vkey, err = note.GenerateKey(bytes.NewReader(logKeySeed(cfg.Seed)), Origin)
	if err != nil {
		return nil, fmt.Errorf("cannot make the log key: %w", err)
	}
	h.summary = summarize(cfg, p, events, st)
	return h, nil
}

// sign signs every event's statement, on every core: signatures are
// deterministic, so the order of the work does not matter.
func sign(events []*event, keys map[string]ed25519.PrivateKey) ([]*truce.Envelope, error) {
	envs := make([]*truce.Envelope, len(events))
	errs := make([]error, len(events))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(events); i += workers {
				ev := events[i]
				s := &truce.Statement{Type: ev.typ, ID: ev.id, Mechanism: Origin, Author: ev.author, Time: ev.time}
				env, err := truce.SignStatement(s, ev.body, keys[ev.author])
				if err != nil {
					errs[i] = fmt.Errorf("cannot sign %s %s: %w", ev.typ, ev.id, err)
					continue
				}
				for _, c := range ev.cosigners {
					env.Sign(keys[c])
				}
				envs[i] = env
			}
		})
	}
	wg.Wait()
	return envs, errors.Join(errs...)
}

// generate builds the history and writes it to dir, and returns the
// mechanism opened on it.
func generate(ctx context.Context, dir string, cfg Config) (_ *Demo, err error) {
	start := time.Now()
	if err := checkEmpty(dir); err != nil {
		return nil, err
	}
	cfg.Logger.Info("generating a simulated mechanism", "dir", dir, "seed", cfg.Seed, "end", cfg.End)
	h, err := build(cfg)
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("planned and checked the simulated history", "entries", len(h.entries), "took", time.Since(start))

	created := false
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create data folder: %w", err)
	}
	var srv *server.Server
	var ws *witnesses
	defer func() {
		if err == nil {
			return
		}
		if srv != nil {
			srv.Close(context.WithoutCancel(ctx))
		}
		if ws != nil {
			ws.Close()
		}
		removeContents(dir, created)
	}()
	if err := writeKeys(dir, h.keys); err != nil {
		return nil, err
	}
	if err := writeEvidence(dir, h.files); err != nil {
		return nil, err
	}
	if _, err := server.InitWithKey(dir, h.skey); err != nil {
		return nil, err
	}
	if ws, err = openWitnesses(ctx, dir, cfg.Seed, h.vkey); err != nil {
		return nil, err
	}
	if err := writeLog(ctx, dir, h, ws, cfg.Logger); err != nil {
		return nil, err
	}
	srv, err = server.Open(ctx, server.Config{Dir: dir, Logger: cfg.Logger, HTTPClient: ws.client})
	if err != nil {
		return nil, fmt.Errorf("cannot open the generated mechanism: %w", err)
	}
	if err := crossCheck(srv, h); err != nil {
		return nil, err
	}
	h.summary.Took = time.Since(start)
	b, _ := json.MarshalIndent(h.summary, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("cannot write the demo's summary: %w", err)
	}
	cfg.Logger.Info("generated a simulated mechanism", "dir", dir, "entries", len(h.entries), "took", time.Since(start))
	return &Demo{Dir: dir, Server: srv, Summary: h.summary, witnesses: ws}, nil
}

// checkEmpty refuses a folder that holds anything.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("cannot read data folder: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("cannot make a demo in %s: %w", dir, ErrNotEmpty)
	}
	return nil
}

// removeContents undoes a failed generation: dir was empty or absent.
func removeContents(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

func writeKeys(dir string, keys map[string]ed25519.PrivateKey) error {
	kd := filepath.Join(dir, KeysDir)
	if err := os.MkdirAll(kd, 0o755); err != nil {
		return fmt.Errorf("cannot create keys folder: %w", err)
	}
	for _, m := range roster() {
		if err := os.WriteFile(filepath.Join(kd, m.id+".pem"), truce.MarshalPrivateKey(keys[m.id]), 0o600); err != nil {
			return fmt.Errorf("cannot write the key of %s: %w", m.id, err)
		}
	}
	return nil
}

func writeEvidence(dir string, files []*file) error {
	store, err := evidence.New(filepath.Join(dir, evidenceDir))
	if err != nil {
		return err
	}
	// Put syncs each file; a few writers at once keep the disk busy.
	const writers = 8
	errs := make(chan error, writers)
	next := make(chan *file)
	for range writers {
		go func() {
			var first error
			for f := range next {
				if err := store.Put(f.sha256, int64(len(f.data)), bytes.NewReader(f.data)); err != nil && first == nil {
					first = fmt.Errorf("cannot store evidence file %s: %w", f.sha256, err)
				}
			}
			errs <- first
		}()
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	var all []error
	for range writers {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// writeLog writes the log key and appends every entry to a new log.
// The demo's witnesses cosign its checkpoints as they are written.
func writeLog(ctx context.Context, dir string, h *history, ws *witnesses, logger *slog.Logger) error {
	signer, err := ledger.NewSigner(h.skey)
	if err != nil {
		return err
	}
	l, err := ledger.Open(ctx, ledger.Config{
		Dir: filepath.Join(dir, logDir), Signer: signer, Logger: logger,
		CheckpointInterval: 100 * time.Millisecond,
		Witnesses:          historyPolicy{h.state.Charters()}, HTTPClient: ws.client,
	})
	if err != nil {
		return fmt.Errorf("cannot open the new log: %w", err)
	}
	first, err := l.AddBatch(ctx, h.entries)
	if err != nil {
		l.Close(context.WithoutCancel(ctx))
		return err
	}
	if first != 0 {
		l.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("cannot write the log: the new log's first entry got index %d, want 0", first)
	}
	if _, err := l.WaitPublished(ctx, uint64(len(h.entries))); err != nil {
		l.Close(context.WithoutCancel(ctx))
		return err
	}
	return l.Close(ctx)
}

// crossCheck compares the mechanism that server.Open folded from the log
// with the state the generator built.
func crossCheck(srv *server.Server, h *history) error {
	var next uint64
	var compliance []byte
	srv.Mechanism.Read(func(st *state.State) {
		next = st.Next()
		compliance = state.MarshalCanonical(st.Compliance())
	})
	if next != uint64(len(h.entries)) {
		return fmt.Errorf("the mechanism folded %d entries of the generated log, want %d", next, len(h.entries))
	}
	if want := state.MarshalCanonical(h.state.Compliance()); !bytes.Equal(compliance, want) {
		return errors.New("the mechanism's compliance tallies differ from the generator's: the fold is not a pure function of the log")
	}
	return nil
}

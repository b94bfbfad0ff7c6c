package mechanism

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
)

// Result is the outcome of submitting one envelope.
type Result struct {
	// Index is the entry's log index, when Logged.
	Index uint64
	// Logged is set once the log has durably sequenced the entry: then
	// the statement is part of the record even if Err is set (the
	// mechanism stopped before applying it).
	Logged bool
	// Verdict is the fold's verdict on the logged entry. A statement that
	// passed the checks on receipt can still be rejected by the fold, when
	// another statement raced it.
	Verdict state.Verdict
	// Err is why the envelope was refused and never logged.
	Err error
}

// prepared is an envelope that passed every check on receipt.
type prepared struct {
	entry    *truce.Entry
	data     []byte
	verified map[string]bool
}

// Submit checks, logs and applies envelopes given as JSON, and returns a
// result for each in the same order. It returns once every logged
// envelope is applied and saved.
//
// The checks (parsing, signatures, the rules) run on every core; the
// entries that pass are then handed to the log in the order given, and
// Submit waits for the log and the fold together.
func (m *Mechanism) Submit(ctx context.Context, envelopes [][]byte) []Result {
	received := m.cfg.Now().UTC().Truncate(time.Millisecond)
	out := make([]Result, len(envelopes))
	preps := make([]*prepared, len(envelopes))
	parallel(len(envelopes), func(i int) {
		preps[i], out[i].Err = m.prepare(envelopes[i], received)
	})
	m.logEntries(ctx, preps, out)
	return out
}

// parallel calls fn(0..n-1) on up to GOMAXPROCS goroutines, each taking a
// contiguous run.
func parallel(n int, fn func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w * n / workers; i < (w+1)*n/workers; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}

func (m *Mechanism) prepare(raw []byte, received time.Time) (*prepared, error) {
	env, err := truce.ParseEnvelope(raw)
	if err != nil {
		m.metrics.refused(err)
		return nil, err
	}
	e := &truce.Entry{Received: received, Envelope: env}
	e.Statement, e.Body, e.Problem = truce.ParseStatement(env.Payload)
	return m.check(e)
}

// check parses nothing: it applies the rules to an entry against the
// current state and encodes it for the log.
func (m *Mechanism) check(e *truce.Entry) (*prepared, error) {
	if e.Problem != nil {
		m.metrics.refused(e.Problem)
		return nil, e.Problem
	}
	data, err := truce.MarshalEntry(e.Received, e.Envelope)
	if err != nil {
		m.metrics.refused(err)
		return nil, err
	}
	verified := map[string]bool{}
	m.mu.RLock()
	err = m.st.Check(e, verified)
	m.mu.RUnlock()
	if err != nil {
		m.metrics.refused(err)
		return nil, err
	}
	return &prepared{entry: e, data: data, verified: verified}, nil
}

// logEntries hands the prepared entries to the log in order, waits until each is
// sequenced and applied, and fills in out.
func (m *Mechanism) logEntries(ctx context.Context, preps []*prepared, out []Result) {
	// Once handed to the log an entry may be sequenced whatever happens to
	// the caller, so it is seen through to the state regardless.
	lctx := context.WithoutCancel(ctx)
	if err := m.Err(); err != nil {
		// Nothing more is logged once entries can no longer be applied.
		for i, p := range preps {
			if p != nil {
				out[i].Err = stopped(err)
			}
		}
		return
	}
	waits := make([]func() (uint64, error), len(preps))
	var ids []string
	m.pmu.Lock()
	start := time.Now()
	for i, p := range preps {
		if p == nil {
			continue
		}
		id := p.entry.Statement.ID
		if m.pending[id] {
			out[i].Err = &truce.KindError{Kind: state.ErrConflict, Err: fmt.Errorf("replay: a statement with id %s is being logged now", id)}
			m.metrics.refused(out[i].Err)
			continue
		}
		m.pending[id] = true
		ids = append(ids, id)
		waits[i] = m.cfg.Log.Queue(lctx, p.data)
	}
	m.pmu.Unlock()
	defer func() {
		m.pmu.Lock()
		for _, id := range ids {
			delete(m.pending, id)
		}
		m.pmu.Unlock()
	}()

	items := make([]*item, len(preps))
	for i, wait := range waits {
		if wait == nil {
			continue
		}
		index, err := wait()
		if err != nil {
			out[i].Err = fmt.Errorf("cannot append to the log: %w", err)
			m.metrics.refused(out[i].Err)
			continue
		}
		m.metrics.append.Observe(time.Since(start).Seconds())
		out[i].Index, out[i].Logged = index, true
		items[i] = &item{entry: preps[i].entry, verified: preps[i].verified, done: make(chan state.Verdict, 1)}
		if err := m.deliver(index, items[i]); err != nil {
			out[i].Err, items[i] = err, nil
		}
	}
	for i, it := range items {
		if it == nil {
			continue
		}
		v, ok := <-it.done
		if !ok {
			out[i].Err = ErrStopped
			continue
		}
		out[i].Verdict = v
	}
}

func (m *Mechanism) deliver(index uint64, it *item) error {
	m.amu.Lock()
	if m.failed != nil {
		m.amu.Unlock()
		return stopped(m.failed)
	}
	m.ready[index] = it
	m.amu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return nil
}

// stopped is the error for a statement refused because the mechanism
// stopped, for the reason cause.
func stopped(cause error) error {
	if errors.Is(cause, ErrStopped) {
		return ErrStopped
	}
	return fmt.Errorf("%w: %v", ErrStopped, cause)
}

package mechanism

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
)

// Result is the outcome of submitting one envelope.
type Result struct {
	// Index is the entry's log index, when Err is nil.
	Index uint64
	// Verdict is the fold's verdict on the logged entry. A statement that
	// passed the checks on receipt can still be rejected by the fold, when
	// another statement raced it.
	Verdict state.Verdict
	// Err is why the envelope was refused and never logged.
	Err error
}

// Submit checks, logs and applies envelopes given as JSON, concurrently,
// and returns a result for each in the same order. It returns once every
// logged envelope is applied and saved.
func (m *Mechanism) Submit(ctx context.Context, envelopes [][]byte) []Result {
	received := m.cfg.Now()
	out := make([]Result, len(envelopes))
	done := make(chan struct{}, len(envelopes))
	for i, raw := range envelopes {
		go func() {
			out[i] = m.submit(ctx, raw, received)
			done <- struct{}{}
		}()
	}
	for range envelopes {
		<-done
	}
	return out
}

// SubmitEntry logs one envelope with the given receive time. Tools that
// build a mechanism's history, such as the demo, use it; servers use Submit.
func (m *Mechanism) SubmitEntry(ctx context.Context, env *truce.Envelope, received time.Time) Result {
	e := &truce.Entry{Received: received, Envelope: env}
	e.Statement, e.Body, e.Problem = truce.ParseStatement(env.Payload)
	return m.submitEntry(ctx, e)
}

func (m *Mechanism) submit(ctx context.Context, raw []byte, received time.Time) Result {
	env, err := truce.ParseEnvelope(raw)
	if err != nil {
		m.metrics.refused(err)
		return Result{Err: err}
	}
	e := &truce.Entry{Received: received, Envelope: env}
	e.Statement, e.Body, e.Problem = truce.ParseStatement(env.Payload)
	if e.Problem != nil {
		m.metrics.refused(e.Problem)
		return Result{Err: e.Problem}
	}
	return m.submitEntry(ctx, e)
}

func (m *Mechanism) submitEntry(ctx context.Context, e *truce.Entry) Result {
	e.Received = e.Received.UTC().Truncate(time.Millisecond)
	data, err := truce.MarshalEntry(e.Received, e.Envelope)
	if err != nil {
		m.metrics.refused(err)
		return Result{Err: err}
	}
	if e.Problem != nil {
		m.metrics.refused(e.Problem)
		return Result{Err: e.Problem}
	}
	id := e.Statement.ID
	verified := map[string]bool{}
	m.mu.RLock()
	err = m.st.Check(e, verified)
	m.mu.RUnlock()
	if err != nil {
		m.metrics.refused(err)
		return Result{Err: err}
	}
	m.pmu.Lock()
	if m.pending[id] {
		m.pmu.Unlock()
		err := fmt.Errorf("%w: replay: a statement with id %s is being logged now", state.ErrConflict, id)
		m.metrics.refused(err)
		return Result{Err: err}
	}
	m.pending[id] = true
	m.pmu.Unlock()
	defer func() {
		m.pmu.Lock()
		delete(m.pending, id)
		m.pmu.Unlock()
	}()

	// Once handed to the log the entry may be sequenced whatever happens
	// to the caller, so it is seen through to the state regardless.
	lctx := context.WithoutCancel(ctx)
	start := time.Now()
	index, err := m.cfg.Log.Add(lctx, data)
	if err != nil {
		m.metrics.refused(err)
		return Result{Err: fmt.Errorf("cannot append to the log: %w", err)}
	}
	m.metrics.append.Observe(time.Since(start).Seconds())
	it := &item{entry: e, verified: verified, done: make(chan state.Verdict, 1)}
	if err := m.deliver(index, it); err != nil {
		return Result{Index: index, Err: err}
	}
	v, ok := <-it.done
	if !ok {
		return Result{Index: index, Err: ErrStopped}
	}
	return Result{Index: index, Verdict: v}
}

func (m *Mechanism) deliver(index uint64, it *item) error {
	m.amu.Lock()
	if m.failed != nil {
		m.amu.Unlock()
		return fmt.Errorf("%w: %v", ErrStopped, m.failed)
	}
	m.ready[index] = it
	m.amu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return nil
}

// IsRefusal reports whether err is a refusal of the statement itself
// rather than a failure of the mechanism.
func IsRefusal(err error) bool {
	var size *truce.SizeError
	return errors.Is(err, truce.ErrMalformed) || errors.Is(err, state.ErrSignature) ||
		errors.Is(err, state.ErrForbidden) || errors.Is(err, state.ErrConflict) ||
		errors.Is(err, state.ErrUnknownSubject) || errors.As(err, &size)
}

// Package mechanism runs a mechanism: it checks and logs statements, folds
// the log into the state in log order, and keeps the SQL projection
// current. It is the one place where the log, the fold and the store meet.
//
// A statement's path: Submit parses it and checks it against the current
// state (refusing what is already invalid), appends the entry to the log
// and waits until the log has durably sequenced it, then hands it to the
// applier. The applier applies entries strictly in log order, writes each
// batch of changes to the store in one transaction, and only then answers
// the submitters. After a crash, Open catches the projection up from the
// log, so an acknowledged statement is never lost from the state.
package mechanism

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
	"github.com/truce-mechanism/truce/internal/store"
)

// Log is the append-only log the mechanism writes to.
type Log interface {
	// Queue hands an entry to the log and returns the function that waits
	// until it is durably sequenced and gives its index; it must be called.
	Queue(ctx context.Context, entry []byte) (wait func() (uint64, error))
	// Size is the number of sequenced entries.
	Size(ctx context.Context) (uint64, error)
	// Entries reads the entries [from, to).
	Entries(ctx context.Context, from, to uint64) ([][]byte, error)
}

// Config configures Open.
type Config struct {
	// Origin is the log's origin line, the mechanism's name.
	Origin string
	// Log is the log; Store the projection.
	Log   Log
	Store store.Store
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Registerer receives the mechanism's metrics, when not nil.
	Registerer prometheus.Registerer
	// Now is the clock for receive times; default time.Now.
	Now func() time.Time
	// Progress, when not nil, is called while Open catches up.
	Progress func(done, total uint64)
}

// Mechanism is a running mechanism.
type Mechanism struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	mu sync.RWMutex // guards st
	st *state.State

	pmu     sync.Mutex
	pending map[string]bool // ids between Check and Apply

	amu     sync.Mutex
	ready   map[uint64]*item
	wake    chan struct{}
	failed  error
	stalled stall // the applier's own: a gap seen at the last tick
	stop    context.CancelFunc
	stopped chan struct{}
}

type item struct {
	entry    *truce.Entry
	verified map[string]bool
	done     chan state.Verdict
}

// Open loads the state from the store, catches the store up with the log,
// and starts applying new entries.
func Open(ctx context.Context, cfg Config) (*Mechanism, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Mechanism{
		cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registerer),
		pending: map[string]bool{}, ready: map[uint64]*item{},
		wake: make(chan struct{}, 1), stopped: make(chan struct{}),
	}
	st, err := load(ctx, cfg.Origin, cfg.Store)
	if err != nil {
		return nil, err
	}
	m.st = st
	size, err := cfg.Log.Size(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot read the log's size: %w", err)
	}
	if st.Next() > size {
		return nil, fmt.Errorf("the projection has %d entries but the log only %d: the log was rolled back or replaced; rebuild the projection with truce reindex", st.Next(), size)
	}
	if err := m.catchUp(ctx, size); err != nil {
		return nil, err
	}
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.stop = cancel
	go m.applier(actx)
	return m, nil
}

// load restores the state from the projection.
func load(ctx context.Context, origin string, s store.Store) (*state.State, error) {
	next, clock, err := s.Progress(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot read the projection's progress: %w", err)
	}
	if next == 0 {
		return state.New(origin), nil
	}
	rows, err := s.Charters(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot load charters: %w", err)
	}
	charters := make([]*state.Charter, len(rows))
	for i, r := range rows {
		charters[i] = new(state.Charter)
		if err := json.Unmarshal(r.Doc, charters[i]); err != nil {
			return nil, fmt.Errorf("cannot decode charter version %d: %w", r.Version, err)
		}
	}
	var subjects []*state.Subject
	err = s.AllSubjects(ctx, func(r *store.Subject) error {
		sub := new(state.Subject)
		if err := json.Unmarshal(r.Doc, sub); err != nil {
			return fmt.Errorf("cannot decode subject %s: %w", r.ID, err)
		}
		subjects = append(subjects, sub)
		return nil
	})
	if err != nil {
		return nil, err
	}
	drows, err := s.AccessDenials(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot load access denials: %w", err)
	}
	denials := make([]*state.AccessDenial, len(drows))
	for i, r := range drows {
		denials[i] = new(state.AccessDenial)
		if err := json.Unmarshal(r.Doc, denials[i]); err != nil {
			return nil, fmt.Errorf("cannot decode access denial %s: %w", r.ID, err)
		}
	}
	ids := map[string]uint64{}
	for from := uint64(0); from < next; {
		vs, err := s.Verdicts(ctx, from, 10000)
		if err != nil {
			return nil, fmt.Errorf("cannot load statement ids: %w", err)
		}
		if len(vs) == 0 {
			break
		}
		for _, v := range vs {
			if _, ok := ids[v.ID]; !ok && v.ID != "" {
				ids[v.ID] = v.Index
			}
		}
		from = vs[len(vs)-1].Index + 1
	}
	return state.Restore(origin, next, clock, charters, subjects, denials, ids), nil
}

const catchUpBatch = 2000

// catchUp applies the log's entries that the projection lacks.
func (m *Mechanism) catchUp(ctx context.Context, size uint64) error {
	start := m.st.Next()
	for next := start; next < size; next = m.st.Next() {
		to := min(size, next+catchUpBatch)
		raw, err := m.cfg.Log.Entries(ctx, next, to)
		if err != nil {
			return fmt.Errorf("cannot read log entries %d to %d: %w", next, to, err)
		}
		items := make([]*item, len(raw))
		for i, b := range raw {
			items[i] = &item{entry: state.ParseLogEntry(b)}
		}
		if err := m.applyBatch(ctx, next, items); err != nil {
			return err
		}
		if m.cfg.Progress != nil {
			m.cfg.Progress(m.st.Next()-start, size-start)
		}
	}
	return nil
}

// applyBatch applies items as entries first, first+1, ... and saves the
// changes. A store failure is fatal: the state in memory would run ahead
// of what is saved.
func (m *Mechanism) applyBatch(ctx context.Context, first uint64, items []*item) error {
	m.mu.Lock()
	verdicts := make([]state.Verdict, len(items))
	for i, it := range items {
		verdicts[i] = m.st.Apply(first+uint64(i), it.entry, it.verified)
	}
	ch := m.st.TakeChanges()
	next, clock := m.st.Next(), m.st.Clock()
	m.mu.Unlock()

	b := projection(&ch, next, clock)
	if err := m.cfg.Store.Apply(ctx, b); err != nil {
		return fmt.Errorf("cannot save entries %d to %d to the projection: %w", first, next-1, err)
	}
	for i, it := range items {
		m.metrics.folded(verdicts[i])
		if it.done != nil {
			it.done <- verdicts[i]
		}
	}
	m.metrics.size.Set(float64(next))
	return nil
}

// applier applies sequenced entries in log order, as they arrive.
func (m *Mechanism) applier(ctx context.Context) {
	defer close(m.stopped)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		fromLog := false
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-tick.C:
			fromLog = true
		}
		for {
			first := m.st.Next()
			m.amu.Lock()
			var items []*item
			for it := m.ready[first]; it != nil; it = m.ready[first+uint64(len(items))] {
				delete(m.ready, first+uint64(len(items)))
				items = append(items, it)
			}
			m.amu.Unlock()
			var err error
			switch {
			case len(items) > 0:
				err = m.applyBatch(ctx, first, items)
			case fromLog:
				// An entry that was sequenced but never handed over (its
				// submitter gave up) is read back from the log.
				err = m.catchUpMissing(ctx)
			}
			if err != nil {
				// The batch that failed is in the log but not applied:
				// its submitters learn that, with their indexes, once
				// the failure is recorded, so that whatever they ask
				// next (/healthz, another statement) already sees it.
				m.fail(err)
				for _, it := range items {
					if it.done != nil {
						close(it.done)
					}
				}
				return
			}
			if len(items) == 0 {
				m.answerStale(ctx)
				break
			}
		}
	}
}

func (m *Mechanism) catchUpMissing(ctx context.Context) error {
	size, err := m.cfg.Log.Size(ctx)
	if err != nil {
		return fmt.Errorf("cannot read the log's size: %w", err)
	}
	next := m.st.Next()
	if size <= next {
		m.stalled = stall{}
		return nil
	}
	m.amu.Lock()
	_, waiting := m.ready[next]
	// The gap runs to the first entry already handed over.
	to := min(size, next+catchUpBatch)
	for i := next; i < to; i++ {
		if _, ok := m.ready[i]; ok {
			to = i
			break
		}
	}
	m.amu.Unlock()
	// Under load a submitter can take a while to hand over an entry the
	// log already holds; only a gap that outlasts a whole tick is read back.
	if waiting || m.stalled.next != next || !m.stalled.seen {
		m.stalled = stall{next: next, seen: !waiting}
		return nil
	}
	m.stalled = stall{}
	m.log.Warn("reading sequenced entries back from the log", "from", next, "to", to)
	return m.catchUp(ctx, to)
}

// stall remembers the entry the applier was missing at the last tick.
type stall struct {
	next uint64
	seen bool
}

// answerStale answers submitters whose entries were applied from the log
// before they handed them over.
func (m *Mechanism) answerStale(ctx context.Context) {
	next := m.st.Next()
	m.amu.Lock()
	defer m.amu.Unlock()
	for idx, it := range m.ready {
		if idx >= next {
			continue
		}
		delete(m.ready, idx)
		v, err := m.cfg.Store.Verdict(ctx, idx)
		if err != nil {
			close(it.done)
			continue
		}
		it.done <- verdictOf(v)
	}
}

func (m *Mechanism) fail(err error) {
	m.log.Error("the mechanism stopped applying entries", "err", err)
	m.amu.Lock()
	m.failed = err
	for idx, it := range m.ready {
		close(it.done)
		delete(m.ready, idx)
	}
	m.amu.Unlock()
}

// ErrStopped is returned for statements submitted after the mechanism
// stopped, or failed.
var ErrStopped = errors.New("the mechanism is not applying entries")

// Close stops the applier. The log and store are the caller's to close.
func (m *Mechanism) Close() error {
	m.stop()
	<-m.stopped
	// Submitters still waiting are answered: their entries are in the log,
	// and the next Open applies them.
	m.amu.Lock()
	if m.failed == nil {
		m.failed = ErrStopped
	}
	for idx, it := range m.ready {
		close(it.done)
		delete(m.ready, idx)
	}
	m.amu.Unlock()
	return nil
}

// Read calls fn with the current state under a read lock. fn must not
// keep references to the state.
func (m *Mechanism) Read(fn func(*state.State)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	fn(m.st)
}

// Origin is the mechanism's log origin.
func (m *Mechanism) Origin() string { return m.cfg.Origin }

// Err is why the mechanism stopped applying entries, or nil while it runs.
func (m *Mechanism) Err() error {
	m.amu.Lock()
	defer m.amu.Unlock()
	return m.failed
}

// Next is the number of log entries applied to the state.
func (m *Mechanism) Next() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.st.Next()
}

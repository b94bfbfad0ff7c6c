package ledger

import (
	"context"
	"errors"
	"net/url"
	"sync/atomic"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera"
	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce"
)

// Witnesses says whose cosignatures a checkpoint needs before it is
// published. The charter names the witnesses and the policy, and may change
// them, so the ledger asks at every publication.
type Witnesses interface {
	// Policy returns the witness policy in force for a checkpoint of
	// size entries: the one the charters among entries [0, size) make.
	// It reports false while that is not known yet, because the fold has
	// not reached size.
	Policy(size uint64) (*truce.WitnessPolicy, bool)
}

// DefaultWitnessTimeout is how long one publication waits for witnesses
// when Config.WitnessTimeout is zero.
const DefaultWitnessTimeout = 10 * time.Second

// notReady is an address no request can reach. It stands for the
// witnesses while their policy is not known yet, so that Tessera, which
// publishes at once when it has no witnesses to ask, fails this
// publication and tries again at the next interval instead.
const notReady = "truce-fold-behind:/add-checkpoint"

// publisher is the charter's witness policy as Tessera's witness group:
// Tessera asks it, at each publication, which witnesses to send the new
// checkpoint to (Endpoints) and whether the cosignatures gathered so far
// let it publish (Satisfied).
type publisher struct {
	log     interface{ Warn(string, ...any) }
	w       Witnesses
	wait    time.Duration
	fresh   bool // the log had no checkpoint when opened
	reader  atomic.Pointer[tessera.LogReader]
	nothing map[string]note.Verifier
}

func (p *publisher) policy(size uint64) (*truce.WitnessPolicy, bool) {
	deadline := time.Now().Add(p.wait)
	for {
		if pol, ok := p.w.Policy(size); ok {
			return pol, true
		}
		if time.Now().After(deadline) {
			return nil, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// size is the tree's size now, which no checkpoint being published can
// exceed.
func (p *publisher) size() (uint64, bool) {
	r := p.reader.Load()
	if r == nil {
		// Tessera publishes the first, empty checkpoint of a new log
		// before NewAppender returns.
		return 0, p.fresh
	}
	s, err := (*r).IntegratedSize(context.Background())
	return s, err == nil
}

// Endpoints returns the add-checkpoint address and cosignature verifier
// of every witness the policy for the current tree size names.
func (p *publisher) Endpoints() map[string]note.Verifier {
	size, ok := p.size()
	if !ok {
		return p.nothing
	}
	pol, ok := p.policy(size)
	if !ok {
		p.log.Warn("not publishing a checkpoint yet: the fold has not reached the log's size, so the witness policy is not known", "size", size)
		return p.nothing
	}
	out := map[string]note.Verifier{}
	for _, w := range pol.Witnesses() {
		v, _ := pol.Verifier(w.Name)
		u, err := url.JoinPath(w.URL, "add-checkpoint")
		if err == nil && v != nil {
			out[u] = v
		}
	}
	return out
}

// Satisfied reports whether cp's cosignatures meet the policy for its size.
func (p *publisher) Satisfied(cp []byte) bool {
	var c f_log.Checkpoint
	if _, err := c.Unmarshal(cp); err != nil {
		return false
	}
	pol, ok := p.w.Policy(c.Size)
	if !ok {
		return false
	}
	var vs []note.Verifier
	for _, w := range pol.Witnesses() {
		if v, ok := pol.Verifier(w.Name); ok {
			vs = append(vs, v)
		}
	}
	signed := map[string]bool{}
	n, err := note.Open(cp, note.VerifierList(vs...))
	var none *note.UnverifiedNoteError
	switch {
	case err == nil:
		for _, s := range n.Sigs {
			for _, w := range pol.Witnesses() {
				if v, _ := pol.Verifier(w.Name); v != nil && v.Name() == s.Name && v.KeyHash() == s.Hash {
					signed[w.Name] = true
				}
			}
		}
	case !errors.As(err, &none):
		return false
	}
	return pol.Satisfied(func(w string) bool { return signed[w] })
}

func newPublisher(cfg Config, fresh bool) *publisher {
	return &publisher{
		log: cfg.Logger, w: cfg.Witnesses, wait: cfg.WitnessTimeout, fresh: fresh,
		nothing: map[string]note.Verifier{notReady: nobody{}},
	}
}

// nobody verifies nothing: the key of the unreachable notReady witness.
type nobody struct{}

func (nobody) Name() string            { return "truce-fold-behind" }
func (nobody) KeyHash() uint32         { return 0 }
func (nobody) Verify(_, _ []byte) bool { return false }

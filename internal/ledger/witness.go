package ledger

import (
	"context"
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
	// not reached size, or cannot be known.
	Policy(size uint64) (*truce.WitnessPolicy, bool)
	// Policies returns every policy in force for some size in [from,
	// to], on the same terms.
	Policies(from, to uint64) ([]*truce.WitnessPolicy, bool)
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

func (p *publisher) policies(from, to uint64) ([]*truce.WitnessPolicy, bool) {
	deadline := time.Now().Add(p.wait)
	for {
		if ps, ok := p.w.Policies(from, to); ok {
			return ps, true
		}
		if time.Now().After(deadline) {
			return nil, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sizes bounds the size of the checkpoint being published: at least the
// published one's, at most the tree's now.
func (p *publisher) sizes() (from, to uint64, ok bool) {
	r := p.reader.Load()
	if r == nil {
		// Tessera publishes the first, empty checkpoint of a new log
		// before NewAppender returns.
		return 0, 0, p.fresh
	}
	to, err := (*r).IntegratedSize(context.Background())
	if err != nil {
		return 0, 0, false
	}
	if cp, err := (*r).ReadCheckpoint(context.Background()); err == nil {
		var c f_log.Checkpoint
		if _, err := c.Unmarshal(cp); err == nil && c.Size <= to {
			from = c.Size
		}
	}
	return from, to, true
}

// Endpoints returns the add-checkpoint address and cosignature verifier
// of every witness that a policy in force for the checkpoint being
// published may need. Tessera signs that checkpoint before it asks, and
// does not say its size; it lies between the published checkpoint's and
// the tree's now, so every policy in force over that range counts.
// Tessera publishes without asking anyone when there are no endpoints,
// so whenever a policy names witnesses but none can be asked, the
// unreachable notReady stands in for them.
func (p *publisher) Endpoints() map[string]note.Verifier {
	from, to, ok := p.sizes()
	if !ok {
		return p.nothing
	}
	pols, ok := p.policies(from, to)
	if !ok {
		p.log.Warn("not publishing a checkpoint yet: the witness policy for the log's size is not known, as the fold has not reached it", "size", to)
		return p.nothing
	}
	out := map[string]note.Verifier{}
	needed := false
	for _, pol := range pols {
		for _, w := range pol.Witnesses() {
			needed = true
			v, _ := pol.Verifier(w.Name)
			u, err := url.JoinPath(w.URL, "add-checkpoint")
			if err == nil && v != nil {
				out[u] = v
			}
		}
	}
	if needed && len(out) == 0 {
		return p.nothing
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
	return pol.SatisfiedBy(cp)
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

package mechanism

import (
	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
)

// WitnessPolicy returns the witness policy in force for a checkpoint of
// size entries (state.WitnessPolicy). It reports false while the fold has
// not reached size, since a charter among the entries not folded yet may
// change it, and when the policy cannot be read: a checkpoint is then not
// published, rather than published unwitnessed.
func (m *Mechanism) WitnessPolicy(size uint64) (*truce.WitnessPolicy, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.st.Next() < size {
		return nil, false
	}
	p, err := state.WitnessPolicy(m.st.Charters(), size)
	if err != nil {
		m.log.Error("cannot tell whose cosignatures a checkpoint needs", "size", size, "error", err)
		return nil, false
	}
	return p, true
}

// WitnessPolicies returns every witness policy in force for a checkpoint
// of some size in [from, to] (state.WitnessPolicies), on the same terms as
// WitnessPolicy.
func (m *Mechanism) WitnessPolicies(from, to uint64) ([]*truce.WitnessPolicy, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.st.Next() < to {
		return nil, false
	}
	ps, err := state.WitnessPolicies(m.st.Charters(), from, to)
	if err != nil {
		m.log.Error("cannot tell whose cosignatures a checkpoint needs", "from", from, "to", to, "error", err)
		return nil, false
	}
	return ps, true
}

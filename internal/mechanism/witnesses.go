package mechanism

import (
	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
)

// noWitnesses is the policy of a log whose charter names no witnesses, or
// that has no charter yet.
var noWitnesses, _ = truce.NewWitnessPolicy(nil, nil)

// WitnessPolicy returns the witness policy in force for a checkpoint of
// size entries: the one the latest charter version among entries
// [0, size) sets. It reports false while the fold has not reached size,
// since a charter among the entries not folded yet may change it.
func (m *Mechanism) WitnessPolicy(size uint64) (*truce.WitnessPolicy, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.st.Next() < size {
		return nil, false
	}
	return m.policyAt(size), true
}

// policyAt is WitnessPolicy for a size the fold has reached; m.mu is held.
func (m *Mechanism) policyAt(size uint64) *truce.WitnessPolicy {
	var c *state.Charter
	for _, ch := range m.st.Charters() {
		if ch.Index < size {
			c = ch
		}
	}
	if c == nil {
		return noWitnesses
	}
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if p, ok := m.policies[c.Version]; ok {
		return p
	}
	p, err := truce.NewWitnessPolicy(c.Witnesses, c.WitnessPolicy)
	if err != nil {
		// The fold accepted this charter, so its policy parsed then; a
		// policy this build cannot read would be a bug, and asking for
		// every witness is the safe reading.
		m.log.Error("cannot read the charter's witness policy", "version", c.Version, "error", err)
		p, _ = truce.NewWitnessPolicy(c.Witnesses, nil)
		if p == nil {
			p = noWitnesses
		}
	}
	m.policies[c.Version] = p
	return p
}

package state

import (
	"fmt"

	"github.com/truce-mechanism/truce"
)

// WitnessPolicy returns the witness policy in force for a checkpoint of
// size entries: the one the latest of charters (the accepted charter
// versions, in log order) among entries [0, size) sets. Before any
// charter, no witnesses are needed. This is the one rule by which the
// server publishes a checkpoint and an auditor checks it.
func WitnessPolicy(charters []*Charter, size uint64) (*truce.WitnessPolicy, error) {
	var c *Charter
	for _, ch := range charters {
		if ch.Index < size {
			c = ch
		}
	}
	if c == nil {
		return truce.NewWitnessPolicy(nil, nil)
	}
	p, err := truce.NewWitnessPolicy(c.Witnesses, c.WitnessPolicy)
	if err != nil {
		return nil, fmt.Errorf("cannot read the witness policy of charter version %d: %w", c.Version, err)
	}
	return p, nil
}

// WitnessPolicies returns every witness policy in force for some size in
// [from, to]: for a checkpoint whose size is only known to lie there.
func WitnessPolicies(charters []*Charter, from, to uint64) ([]*truce.WitnessPolicy, error) {
	first, err := WitnessPolicy(charters, from)
	if err != nil {
		return nil, err
	}
	out := []*truce.WitnessPolicy{first}
	for _, ch := range charters {
		// Charter ch, at index i, is in force for sizes from i+1.
		if ch.Index >= from && ch.Index < to {
			p, err := WitnessPolicy(charters, ch.Index+1)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

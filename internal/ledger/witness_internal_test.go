package ledger

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce"
)

// changingPolicy needs witness w for checkpoints of size 1 only: as if
// entry 0 were a charter naming w and entry 1 an amendment that removed
// the witnesses.
type changingPolicy struct{ needs, none *truce.WitnessPolicy }

func (c changingPolicy) Policy(size uint64) (*truce.WitnessPolicy, bool) {
	if size == 1 {
		return c.needs, true
	}
	return c.none, true
}

func (c changingPolicy) Policies(from, to uint64) ([]*truce.WitnessPolicy, bool) {
	var out []*truce.WitnessPolicy
	for s := from; s <= to; s++ {
		p, _ := c.Policy(s)
		out = append(out, p)
	}
	return out, true
}

// TestEndpointsCoverEveryPolicyInRange checks that the witnesses asked
// for a checkpoint are those of every policy its size may fall under: the
// tree may have grown past an amendment that drops the witnesses after
// Tessera signed a checkpoint that still needs them, and Tessera
// publishes without asking anyone when it is given no witnesses.
func TestEndpointsCoverEveryPolicyInRange(t *testing.T) {
	ctx := context.Background()
	skey, _, err := note.GenerateKey(rand.Reader, "truce.example/ledger-witness")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	_, wvkey, _ := note.GenerateKey(rand.Reader, "witness.example/w")
	key, _ := f_note.VKeyToCosignatureV1(wvkey)
	needs, err := truce.NewWitnessPolicy([]truce.Witness{{Name: "w", Key: key, URL: "http://127.0.0.1:1/w/"}}, json.RawMessage(`"w"`))
	if err != nil {
		t.Fatal(err)
	}
	none, _ := truce.NewWitnessPolicy(nil, nil)
	pol := changingPolicy{needs: needs, none: none}

	// Whatever Tessera publishes meanwhile, the checkpoint being
	// published next lies between the published size and 2.
	l, err := Open(ctx, Config{Dir: t.TempDir(), Signer: signer, Witnesses: pol, WitnessTimeout: 200 * time.Millisecond, ShutdownTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	for _, e := range []string{"a", "b"} {
		if _, err := l.Add(ctx, []byte(e)); err != nil {
			t.Fatal(err)
		}
	}
	from, to, _ := l.pub.sizes()
	eps := l.pub.Endpoints()
	_, asked := eps["http://127.0.0.1:1/w/add-checkpoint"]
	if from <= 1 && (!asked || len(eps) != 1) {
		t.Errorf("endpoints for a checkpoint of size %d to %d: %v, want witness w, whom size 1 needs", from, to, keys(eps))
	}
	if pol, _ := pol.Policy(2); pol.Satisfied(func(string) bool { return false }) != true {
		t.Fatal("the test's policy for size 2 should need nobody")
	}
}

func keys(m map[string]note.Verifier) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

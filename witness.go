package truce

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A charter's witnesses cosign the log's checkpoints (C2SP tlog-witness,
// tlog-cosignature), and its witness_policy says whose cosignatures a
// checkpoint needs before the mechanism counts what it covers as
// published. The policy is JSON, one of:
//
//   - absent or null: every listed witness;
//   - a number k: at least k of the listed witnesses;
//   - a string: the listed witness of that name;
//   - {"all": [P, …]} or {"any": [P, …]}: every one, or at least one, of
//     the policies P;
//   - {"at_least": k, "of": [P, …]}: at least k of them.
//
// "Both parties' witnesses and one mediator's" is
// {"all": ["af", "pk", {"any": ["tr", "qa"]}]}.
//
// SPEC: https://c2sp.org/tlog-cosignature

// WitnessPolicy is a charter's witness policy, resolved against its
// witnesses. The zero policy (no witnesses) is satisfied by any checkpoint.
type WitnessPolicy struct {
	witnesses []Witness
	verifiers map[string]note.Verifier // by witness name
	root      *policyNode              // nil when there are no witnesses
}

type policyNode struct {
	witness string // a leaf; or
	atLeast int    // of these
	of      []*policyNode
}

// Cosignature is a witness's verified cosignature on a checkpoint.
type Cosignature struct {
	// Witness is the witness's name in the charter.
	Witness string `json:"witness"`
	// Time is when the witness says it cosigned.
	Time time.Time `json:"time"`
}

// Checkpoint is a log checkpoint whose log signature verified, with the
// cosignatures of the charter's witnesses that verified.
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
	// Cosignatures are those of the policy's witnesses, in the policy's
	// order of witnesses.
	Cosignatures []Cosignature
	// Witnessed reports whether the cosignatures satisfy the policy.
	Witnessed bool
	// Text is the checkpoint as it was given, signatures and all.
	Text []byte
}

// ErrCheckpoint is matched by every error about a checkpoint that does not
// open: a bad or missing log signature, a bad cosignature, bad text.
var ErrCheckpoint = errors.New("bad checkpoint")

// NewWitnessPolicy resolves a charter's witness_policy against its
// witnesses. The errors name the field at fault, as a charter's do.
func NewWitnessPolicy(witnesses []Witness, policy json.RawMessage) (*WitnessPolicy, error) {
	var f fields
	p := resolvePolicy(&f, witnesses, policy)
	if err := f.result(); err != nil {
		return nil, err
	}
	return p, nil
}

func resolvePolicy(f *fields, witnesses []Witness, policy json.RawMessage) *WitnessPolicy {
	p := &WitnessPolicy{witnesses: witnesses, verifiers: map[string]note.Verifier{}}
	keys := map[string]string{}
	for i, w := range witnesses {
		at := fmt.Sprintf("witnesses[%d]", i)
		f.need(at+".name", w.Name)
		f.need(at+".key", w.Key)
		f.need(at+".url", w.URL)
		if w.Name != "" {
			if _, dup := p.verifiers[w.Name]; dup {
				f.bad(at+".name", fmt.Sprintf("%q is listed twice", w.Name))
			}
		}
		if w.Key != "" {
			v, err := cosignatureVerifier(w.Key)
			if err != nil {
				f.bad(at+".key", err.Error())
			} else {
				if other, dup := keys[w.Key]; dup {
					f.bad(at+".key", fmt.Sprintf("is also the key of witness %q", other))
				}
				keys[w.Key] = w.Name
				p.verifiers[w.Name] = v
			}
		}
		if w.URL != "" {
			if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				f.bad(at+".url", fmt.Sprintf("%q is not an http or https address", w.URL))
			}
		}
	}
	raw := bytes.TrimSpace(policy)
	if len(witnesses) == 0 {
		if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
			f.bad("witness_policy", "is given, but no witnesses are listed")
		}
		return p
	}
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte(fmt.Sprint(len(witnesses)))
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		f.bad("witness_policy", "is not JSON")
		return p
	}
	names := make([]string, len(witnesses))
	for i, w := range witnesses {
		names[i] = w.Name
	}
	p.root = policyTree(f, "witness_policy", v, names, true)
	return p
}

// policyTree reads one node of a policy. A bare number is allowed only at
// the top, where it counts the listed witnesses.
func policyTree(f *fields, at string, v any, names []string, top bool) *policyNode {
	switch v := v.(type) {
	case json.Number:
		k, err := v.Int64()
		if !top || err != nil {
			f.bad(at, "must be a witness name, or an object with all, any, or at_least and of")
			return nil
		}
		if k < 1 || k > int64(len(names)) {
			f.bad(at, fmt.Sprintf("asks for %d cosignatures of the %d witnesses listed", k, len(names)))
			return nil
		}
		n := &policyNode{atLeast: int(k)}
		for _, name := range names {
			n.of = append(n.of, &policyNode{witness: name})
		}
		return n
	case string:
		for _, name := range names {
			if name == v {
				return &policyNode{witness: v}
			}
		}
		f.bad(at, fmt.Sprintf("names witness %q, which is not listed", v))
		return nil
	case map[string]any:
		var list any
		n := new(policyNode)
		switch {
		case len(v) == 1 && v["all"] != nil:
			list = v["all"]
		case len(v) == 1 && v["any"] != nil:
			list, n.atLeast = v["any"], 1
		case len(v) == 2 && v["at_least"] != nil && v["of"] != nil:
			list = v["of"]
			k, ok := v["at_least"].(json.Number)
			i, err := k.Int64()
			if !ok || err != nil || i < 1 {
				f.bad(at+".at_least", "must be a whole number of at least 1")
				return nil
			}
			n.atLeast = int(i)
		default:
			f.bad(at, "must have exactly one of all and any, or both at_least and of")
			return nil
		}
		items, ok := list.([]any)
		if !ok || len(items) == 0 {
			f.bad(at, "must list at least one witness or group")
			return nil
		}
		seen := map[string]bool{}
		for i, item := range items {
			c := policyTree(f, fmt.Sprintf("%s[%d]", at, i), item, names, false)
			if c == nil {
				return nil
			}
			// A witness named twice in a group would count twice.
			if c.of == nil {
				if seen[c.witness] {
					f.bad(fmt.Sprintf("%s[%d]", at, i), fmt.Sprintf("names witness %q again: each cosignature counts once", c.witness))
					return nil
				}
				seen[c.witness] = true
			}
			n.of = append(n.of, c)
		}
		if v["all"] != nil {
			n.atLeast = len(n.of)
		}
		if n.atLeast > len(n.of) {
			f.bad(at+".at_least", fmt.Sprintf("asks for %d of %d", n.atLeast, len(n.of)))
			return nil
		}
		return n
	default:
		f.bad(at, "must be a witness name, or an object with all, any, or at_least and of")
		return nil
	}
}

// cosignatureVerifier parses a witness's verifier key, which must be a
// C2SP tlog-cosignature cosignature/v1 key (signed-note key type 0x04).
func cosignatureVerifier(key string) (note.Verifier, error) {
	parts := strings.SplitN(key, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("is not a signed-note verifier key (name+hash+key)")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return nil, errors.New("is not a cosignature/v1 verifier key (an Ed25519 key of type 0x04, as truce witness prints it)")
	}
	v, err := f_note.NewVerifierForCosignatureV1(key)
	if err != nil {
		return nil, fmt.Errorf("is not a cosignature/v1 verifier key: %v", err)
	}
	if fmt.Sprintf("%08x", v.KeyHash()) != parts[1] {
		return nil, errors.New("has a key hash that does not match its name and key")
	}
	return v, nil
}

// Witnesses returns the witnesses the policy draws on.
func (p *WitnessPolicy) Witnesses() []Witness {
	if p == nil {
		return nil
	}
	return p.witnesses
}

// Verifier returns the cosignature verifier of the named witness.
func (p *WitnessPolicy) Verifier(name string) (note.Verifier, bool) {
	if p == nil {
		return nil, false
	}
	v, ok := p.verifiers[name]
	return v, ok
}

// Satisfied reports whether cosignatures by the named witnesses satisfy
// the policy.
func (p *WitnessPolicy) Satisfied(cosigned func(witness string) bool) bool {
	if p == nil || p.root == nil {
		return true
	}
	return p.root.satisfied(cosigned)
}

func (n *policyNode) satisfied(cosigned func(string) bool) bool {
	if n.of == nil {
		return cosigned(n.witness)
	}
	got := 0
	for _, c := range n.of {
		if c.satisfied(cosigned) {
			got++
			if got >= n.atLeast {
				return true
			}
		}
	}
	return false
}

// String describes the policy in words, for people.
func (p *WitnessPolicy) String() string {
	if p == nil || p.root == nil {
		return "no witnesses"
	}
	return p.root.String()
}

func (n *policyNode) String() string {
	if n.of == nil {
		return n.witness
	}
	parts := make([]string, len(n.of))
	for i, c := range n.of {
		parts[i] = c.String()
	}
	list := strings.Join(parts, ", ")
	switch {
	case len(n.of) == 1:
		return list
	case n.atLeast == len(n.of):
		return "all of (" + list + ")"
	case n.atLeast == 1:
		return "one of (" + list + ")"
	}
	return fmt.Sprintf("%d of (%s)", n.atLeast, list)
}

// OpenCheckpoint verifies a signed checkpoint of the log whose verifier
// key is logKey: its log signature must verify and its origin must be the
// key's name. It collects the cosignatures of the policy's witnesses that
// verify and says whether they satisfy the policy. A cosignature line by a
// witness's key that does not verify makes the checkpoint fail to open,
// as C2SP signed-note asks; lines by keys the policy does not know are
// ignored.
func OpenCheckpoint(text []byte, logKey note.Verifier, p *WitnessPolicy) (*Checkpoint, error) {
	names, others := p.verifierList()
	cp, _, n, err := f_log.ParseCheckpoint(text, logKey.Name(), logKey, others...)
	if err != nil {
		var bad *note.InvalidSignatureError
		if errors.As(err, &bad) {
			return nil, fmt.Errorf("%w: the signature by %s (key hash %08x) does not verify", ErrCheckpoint, bad.Name, bad.Hash)
		}
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	out := &Checkpoint{Origin: cp.Origin, Size: int64(cp.Size), Text: text}
	copy(out.Hash[:], cp.Hash)
	if len(cp.Hash) != tlog.HashSize {
		return nil, fmt.Errorf("%w: the root hash is %d bytes, not %d", ErrCheckpoint, len(cp.Hash), tlog.HashSize)
	}
	signed, err := cosigners(n.Sigs, names, others)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if t, ok := signed[name]; ok {
			out.Cosignatures = append(out.Cosignatures, Cosignature{Witness: name, Time: t})
		}
	}
	out.Witnessed = p.Satisfied(func(w string) bool { _, ok := signed[w]; return ok })
	return out, nil
}

// SatisfiedBy reports whether the cosignatures on a signed checkpoint
// meet the policy. Only the witnesses' signatures are checked, not the
// log's: it is for the log itself, deciding whether to publish what it
// has just signed. Anyone else opens a checkpoint with OpenCheckpoint.
func (p *WitnessPolicy) SatisfiedBy(cp []byte) bool {
	names, vs := p.verifierList()
	var signed map[string]time.Time
	n, err := note.Open(cp, note.VerifierList(vs...))
	var none *note.UnverifiedNoteError
	switch {
	case err == nil:
		if signed, err = cosigners(n.Sigs, names, vs); err != nil {
			return false
		}
	case !errors.As(err, &none):
		return false
	}
	return p.Satisfied(func(w string) bool { _, ok := signed[w]; return ok })
}

// verifierList lists the policy's witnesses that have a verifier, with
// those verifiers, in the charter's order.
func (p *WitnessPolicy) verifierList() (names []string, vs []note.Verifier) {
	if p == nil {
		return nil, nil
	}
	for _, w := range p.witnesses {
		if v, ok := p.verifiers[w.Name]; ok {
			names = append(names, w.Name)
			vs = append(vs, v)
		}
	}
	return names, vs
}

// cosigners maps each witness among names (with verifiers vs) whose
// verified signature is among sigs to the time it says it cosigned.
func cosigners(sigs []note.Signature, names []string, vs []note.Verifier) (map[string]time.Time, error) {
	signed := map[string]time.Time{}
	for _, s := range sigs {
		for i, v := range vs {
			if s.Name == v.Name() && s.Hash == v.KeyHash() {
				t, err := f_note.CoSigV1Timestamp(s)
				if err != nil {
					return nil, fmt.Errorf("%w: the cosignature of witness %q: %v", ErrCheckpoint, names[i], err)
				}
				signed[names[i]] = t.UTC()
			}
		}
	}
	return signed, nil
}

// Cosigned lists the names of the witnesses whose cosignatures c carries,
// sorted.
func (c *Checkpoint) Cosigned() []string {
	out := make([]string, len(c.Cosignatures))
	for i, s := range c.Cosignatures {
		out[i] = s.Witness
	}
	sort.Strings(out)
	return out
}

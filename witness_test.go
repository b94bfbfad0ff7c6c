package truce_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce"
)

// testWitness is a witness's cosigning key and its charter entry.
type testWitness struct {
	signer note.Signer
	entry  truce.Witness
}

func newTestWitness(t *testing.T, name string) testWitness {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "witness.example/"+name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f_note.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := f_note.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return testWitness{signer: s, entry: truce.Witness{Name: name, Key: key, URL: "https://witness.example/" + name + "/"}}
}

func TestWitnessPolicy(t *testing.T) {
	var ws []truce.Witness
	for _, n := range []string{"af", "pk", "tr", "qa"} {
		ws = append(ws, newTestWitness(t, n).entry)
	}
	parties := `{"all": ["af", "pk", {"any": ["tr", "qa"]}]}`
	tests := []struct {
		policy   string
		cosigned string
		want     bool
	}{
		{parties, "af pk tr", true},
		{parties, "af pk qa", true},
		{parties, "af pk", false},
		{parties, "af tr qa", false},
		{"", "af pk tr qa", true},
		{"", "af pk tr", false},
		{"null", "af pk tr", false},
		{"2", "tr qa", true},
		{"2", "qa", false},
		{`"qa"`, "qa", true},
		{`"qa"`, "af pk tr", false},
		{`{"at_least": 3, "of": ["af", "pk", "tr", "qa"]}`, "af tr qa", true},
		{`{"at_least": 3, "of": ["af", "pk", "tr", "qa"]}`, "af qa", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.policy, tt.cosigned), func(t *testing.T) {
			p, err := truce.NewWitnessPolicy(ws, json.RawMessage(tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			signed := map[string]bool{}
			for _, w := range strings.Fields(tt.cosigned) {
				signed[w] = true
			}
			if got := p.Satisfied(func(w string) bool { return signed[w] }); got != tt.want {
				t.Errorf("policy %s, cosigned by %s: satisfied %v, want %v", p, tt.cosigned, got, tt.want)
			}
		})
	}

	none, err := truce.NewWitnessPolicy(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !none.Satisfied(func(string) bool { return false }) || none.String() != "no witnesses" {
		t.Errorf("a charter without witnesses: satisfied %v, %q; want true, no witnesses", none.Satisfied(func(string) bool { return false }), none)
	}
	p, _ := truce.NewWitnessPolicy(ws, json.RawMessage(parties))
	if got, want := p.String(), "all of (af, pk, one of (tr, qa))"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// cosign adds the witnesses' cosignatures to a signed checkpoint, as
// Tessera does with what witnesses answer.
func cosign(t *testing.T, cp []byte, ws ...testWitness) []byte {
	t.Helper()
	for _, w := range ws {
		text := cp[:bytes.Index(cp, []byte("\n\n"))+1]
		signed, err := note.Sign(&note.Note{Text: string(text)}, w.signer)
		if err != nil {
			t.Fatal(err)
		}
		cp = append(cp, signed[len(text)+1:]...)
	}
	return cp
}

func TestOpenCheckpoint(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "truce.example/test")
	if err != nil {
		t.Fatal(err)
	}
	logSigner, _ := note.NewSigner(skey)
	logKey, _ := note.NewVerifier(vkey)
	af, pk, tr := newTestWitness(t, "af"), newTestWitness(t, "pk"), newTestWitness(t, "tr")
	policy, err := truce.NewWitnessPolicy([]truce.Witness{af.entry, pk.entry, tr.entry}, json.RawMessage(`{"all": ["af", {"any": ["pk", "tr"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: "truce.example/test\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"}, logSigner)
	if err != nil {
		t.Fatal(err)
	}

	cp, err := truce.OpenCheckpoint(signed, logKey, policy)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 5 || cp.Origin != "truce.example/test" || cp.Hash[1] != 1 || len(cp.Cosignatures) != 0 || cp.Witnessed {
		t.Errorf("log-signed only: got size %d origin %q cosignatures %v witnessed %v", cp.Size, cp.Origin, cp.Cosignatures, cp.Witnessed)
	}

	full := cosign(t, signed, tr, af)
	cp, err = truce.OpenCheckpoint(full, logKey, policy)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cp.Cosigned(), " "); got != "af tr" || !cp.Witnessed {
		t.Errorf("cosigned by tr and af: got %q witnessed %v, want af tr, witnessed", got, cp.Witnessed)
	}
	if !policy.SatisfiedBy(full) || policy.SatisfiedBy(signed) {
		t.Errorf("SatisfiedBy: with tr and af %v, with the log's signature alone %v; want true, false", policy.SatisfiedBy(full), policy.SatisfiedBy(signed))
	}
	for _, c := range cp.Cosignatures {
		if c.Time.IsZero() {
			t.Errorf("cosignature by %s has no time", c.Witness)
		}
	}

	// Other keys' lines are ignored; a line by a known key that fails
	// makes the whole checkpoint fail.
	other := newTestWitness(t, "stranger")
	if cp, err := truce.OpenCheckpoint(cosign(t, signed, other, af), logKey, policy); err != nil || cp.Witnessed || len(cp.Cosignatures) != 1 {
		t.Errorf("with a stranger's cosignature: %v, %+v", err, cp)
	}
	if _, err := truce.OpenCheckpoint(full, mustVerifier(t), policy); !errors.Is(err, truce.ErrCheckpoint) {
		t.Errorf("checked with another log's key: err %v, want ErrCheckpoint", err)
	}

	// Flip every byte: the checkpoint no longer opens, or it opens with
	// fewer cosignatures than the policy needs.
	for i := range full {
		bad := bytes.Clone(full)
		bad[i] ^= 0x01
		cp, err := truce.OpenCheckpoint(bad, logKey, policy)
		if err == nil && cp.Witnessed && len(cp.Cosignatures) == 2 && !sameSignatures(bad, full) {
			t.Fatalf("byte %d flipped (%q): the checkpoint still opens with both cosignatures", i, bad[i])
		}
	}
}

// sameSignatures reports whether two notes carry the same signature
// bytes: standard base64 ignores a last character's unused bits, so a
// flip there changes the text but not the signature.
func sameSignatures(a, b []byte) bool {
	sigs := func(n []byte) (out []string) {
		for _, line := range strings.Split(string(n[bytes.LastIndex(n, []byte("\n\n"))+2:]), "\n") {
			if f := strings.Fields(line); len(f) == 3 {
				raw, _ := base64.StdEncoding.DecodeString(f[2])
				out = append(out, f[0]+f[1]+string(raw))
			}
		}
		return out
	}
	return slices.Equal(sigs(a), sigs(b))
}

func mustVerifier(t *testing.T) note.Verifier {
	t.Helper()
	_, vkey, err := note.GenerateKey(rand.Reader, "truce.example/test")
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

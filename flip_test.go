package truce_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/truce-mechanism/truce"
)

// span is a byte range [start, end) of an entry.
type span struct {
	name       string
	start, end int
}

func (s span) has(i int) bool { return s.start <= i && i < s.end }

// entrySpans finds, in canonical entry bytes, the string values that carry
// the received time, the payload and each signature.
func entrySpans(t *testing.T, entry []byte, e *truce.Entry) (received span, b64 []span) {
	t.Helper()
	find := func(name, prefix, value string) span {
		i := bytes.Index(entry, []byte(prefix+value+`"`))
		if i < 0 || bytes.Count(entry, []byte(value)) != 1 {
			t.Fatalf("cannot find %s in the entry", name)
		}
		start := i + len(prefix)
		return span{name, start, start + len(value)}
	}
	received = find("received", `{"received":"`, e.Received.Format(truce.ReceivedLayout))
	envJSON, err := e.Envelope.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		Payload    string
		Signatures []struct{ Sig string }
	}
	if err := jsonUnmarshal(envJSON, &w); err != nil {
		t.Fatal(err)
	}
	b64 = append(b64, find("payload", `"payload":"`, w.Payload))
	for i, s := range w.Signatures {
		b64 = append(b64, find(fmt.Sprintf("signatures[%d].sig", i), `"sig":"`, s.Sig))
	}
	return received, b64
}

// replacements are the bytes that the flip test puts at entry[i]: the byte
// with its low bit flipped, and printable characters. Outside the base64 of
// the payload and signatures, every other printable character is tried;
// inside it, where any change to a digit changes the signed bytes or makes
// bad base64, one that keeps the digit printable (and base64) is enough.
func replacements(entry []byte, i int, b64 []span) []byte {
	c := entry[i]
	out := []byte{c ^ 0x01}
	if !slices.ContainsFunc(b64, func(s span) bool { return s.has(i) }) {
		for r := byte(0x20); r < 0x7f; r++ {
			if r != c && r != c^0x01 {
				out = append(out, r)
			}
		}
		return out
	}
	var r byte
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		r = c ^ 0x20 // the other case
	case '0' <= c && c <= '9':
		r = '0' + (c-'0'+1)%10
	case c == '+':
		r = '-' // the URL-safe alphabet's 62
	case c == '/':
		r = '_' // the URL-safe alphabet's 63
	default:
		r = 'A'
	}
	if r != c^0x01 {
		out = append(out, r)
	}
	return out
}

// sameEnvelope reports whether two envelopes carry the same payload type,
// payload bytes and signatures (keyids and signature bytes, in order).
func sameEnvelope(a, b *truce.Envelope) bool {
	return a.PayloadType == b.PayloadType && bytes.Equal(a.Payload, b.Payload) &&
		slices.EqualFunc(a.Signatures, b.Signatures, func(x, y truce.Signature) bool {
			return x.KeyID == y.KeyID && bytes.Equal(x.Sig, y.Sig)
		})
}

// verifiesForAll reports whether env carries a good signature by every one
// of signers, as the fold would demand of it. It tries first the signers
// whose signature differs from the one in orig, which are the ones that
// should fail, so that the test stays fast.
func verifiesForAll(env, orig *truce.Envelope, signers []ed25519.PublicKey) bool {
	order := make([]int, 0, len(signers))
	for i := range signers {
		if i >= len(env.Signatures) || !bytes.Equal(env.Signatures[i].Sig, orig.Signatures[i].Sig) || env.Signatures[i].KeyID != orig.Signatures[i].KeyID {
			order = append(order, i)
		}
	}
	for i := range signers {
		if !slices.Contains(order, i) {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if ok, err := env.Verify(signers[i]); !ok || err != nil {
			return false
		}
	}
	keys := make(map[string]ed25519.PublicKey, len(signers))
	for _, pub := range signers {
		keys[truce.KeyID(pub)] = pub
	}
	_, err := env.VerifyAll(func(id string) (ed25519.PublicKey, bool) {
		pub, ok := keys[id]
		return pub, ok
	})
	return err == nil
}

// base64Equivalent reports whether a change of one base64 digit from old to
// new may decode to the same bytes: in the padding bits of the last digit
// before '=', or as the same value in the URL-safe alphabet, which DSSE
// allows.
func base64Equivalent(s []byte, at int, old, new byte) bool {
	if (old == '+' && new == '-') || (old == '/' && new == '_') {
		return true
	}
	return at+1 < len(s) && s[at+1] == '='
}

// TestEntryFlipEveryByte changes every byte of each vector's entry, and
// checks that no changed entry parses and verifies, for every signer of the
// original, unless it decodes to the very same signed envelope. What may
// still differ is then only what no author signs: the receive time.
func TestEntryFlipEveryByte(t *testing.T) {
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			orig := readVector(t, v.name+"/entry.json")
			want, err := truce.ParseEntry(orig)
			if err != nil || want.Problem != nil {
				t.Fatalf("ParseEntry(vector) = %v, %v", err, want.Problem)
			}
			var signers []ed25519.PublicKey
			for _, name := range v.signers {
				signers = append(signers, vectorPub(name))
			}
			if !verifiesForAll(want.Envelope, want.Envelope, signers) {
				t.Fatal("the vector itself does not verify")
			}
			received, b64 := entrySpans(t, orig, want)
			outcomes := map[string]int{}
			var nonCanonical []string
			m := bytes.Clone(orig)
			for i, c := range orig {
				for _, r := range replacements(orig, i, b64) {
					m[i] = r
					what := fmt.Sprintf("byte %d %q→%q in …%s…", i, c, r, context(m, i))
					outcome := flipOutcome(t, m, want, signers, what)
					switch outcome {
					case "same envelope":
						var in *span
						for j := range b64 {
							if b64[j].has(i) {
								in = &b64[j]
							}
						}
						switch {
						case in != nil && base64Equivalent(orig[in.start:in.end], i-in.start, c, r):
							outcome = "same envelope: equivalent base64 in " + in.name
						case in != nil:
							t.Errorf("%s: the %s decodes to the same bytes, yet the change is neither in padding bits nor the URL-safe alphabet", what, in.name)
						default:
							outcome = "same envelope: non-canonical entry JSON"
							nonCanonical = append(nonCanonical, what)
						}
					case "received changed":
						if !received.has(i) {
							t.Errorf("%s: the receive time changed, but the flip is outside it", what)
						}
					}
					outcomes[outcome]++
				}
				m[i] = c
			}
			t.Logf("%d bytes: %v", len(orig), outcomes)
			if len(nonCanonical) > 0 {
				t.Logf("%d changes that decode to the same entry (see TestParseEntryCanonical):\n%s", len(nonCanonical), strings.Join(nonCanonical, "\n"))
			}
		})
	}
}

// flipOutcome parses and verifies a changed entry, and says how it went.
// It fails the test if the entry verifies with a signed envelope that is
// not the original's.
func flipOutcome(t *testing.T, m []byte, want *truce.Entry, signers []ed25519.PublicKey, what string) string {
	t.Helper()
	e, err := truce.ParseEntry(m)
	if err != nil {
		return "not an entry"
	}
	if !verifiesForAll(e.Envelope, want.Envelope, signers) {
		return "bad signature"
	}
	if !sameEnvelope(e.Envelope, want.Envelope) {
		t.Errorf("%s: the changed envelope verifies: payload %q, %d signatures", what, e.Envelope.Payload, len(e.Envelope.Signatures))
		return "ALTERED AND VERIFIES"
	}
	if e.Problem != nil {
		t.Errorf("%s: the same payload now has a problem: %v", what, e.Problem)
	}
	if !e.Received.Equal(want.Received) {
		return "received changed"
	}
	return "same envelope"
}

func context(b []byte, i int) string {
	return string(b[max(0, i-12):min(len(b), i+13)])
}

// TestParseEntryCanonical checks that ParseEntry takes each entry in one
// encoding only, the one MarshalEntry writes: the log's leaves are bytes,
// and an auditor that re-encodes an entry must get the leaf back.
func TestParseEntryCanonical(t *testing.T) {
	t.Skip("see bug: ParseEntry accepts non-canonical entries (JSON names in any case, a comma before the milliseconds, non-zero base64 padding bits, the URL-safe alphabet); proposed fix in the report of the wire-format tests")
	for _, v := range vectors() {
		orig := readVector(t, v.name+"/entry.json")
		m := bytes.Clone(orig)
		for i, c := range orig {
			for _, r := range replacements(orig, i, nil) {
				m[i] = r
				e, err := truce.ParseEntry(m)
				if err == nil {
					again, err := truce.MarshalEntry(e.Received, e.Envelope)
					if err != nil || !bytes.Equal(again, m) {
						t.Errorf("%s: ParseEntry accepts byte %d %q→%q in …%s…, which MarshalEntry writes differently", v.name, i, c, r, context(m, i))
					}
				}
			}
			m[i] = c
		}
	}
}

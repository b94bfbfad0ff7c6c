package truce_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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
// the received time, the keyids, and the base64 of the payload and of each
// signature.
func entrySpans(t *testing.T, entry []byte, e *truce.Entry) (received span, keyids, b64 []span) {
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
	if err := json.Unmarshal(envJSON, &w); err != nil {
		t.Fatal(err)
	}
	b64 = append(b64, find("payload", `"payload":"`, w.Payload))
	for i, s := range w.Signatures {
		b64 = append(b64, find(fmt.Sprintf("signatures[%d].sig", i), `"sig":"`, s.Sig))
	}
	for i, s := range e.Envelope.Signatures {
		keyids = append(keyids, find(fmt.Sprintf("signatures[%d].keyid", i), `"keyid":"`, s.KeyID))
	}
	return received, keyids, b64
}

// replacements are the bytes that the flip test puts at entry[i]: the byte
// with its low bit flipped, and printable characters. In the JSON around
// the values, and in the receive time, every other printable character is
// tried (with -short or -race, the ones that mean something in JSON,
// base64 or a time). Inside a keyid or a base64 string, where each digit counts the
// same, a few are enough: one that keeps the digit a hex or base64 digit,
// and for keyids the other case, which is not lowercase hex.
func replacements(entry []byte, i int, keyids, b64 []span) []byte {
	c := entry[i]
	out := []byte{c ^ 0x01}
	add := func(r byte) {
		if r != c && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	in := func(s span) bool { return s.has(i) }
	switch {
	case slices.ContainsFunc(keyids, in):
		if '0' <= c && c <= '9' {
			add('0' + (c-'0'+1)%10)
		} else {
			add('a' + (c-'a'+1)%6)
			add(c ^ 0x20)
		}
		add('g')
	case slices.ContainsFunc(b64, in):
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			add(c ^ 0x20) // the other case
		case '0' <= c && c <= '9':
			add('0' + (c-'0'+1)%10)
		case c == '+':
			add('-') // 62 in the URL-safe alphabet
		case c == '/':
			add('_') // 63 in the URL-safe alphabet
		default:
			add('A')
		}
	case raceEnabled || testing.Short():
		// The characters that mean something in JSON, base64 or a time,
		// and the other case.
		for _, r := range []byte(` "\{}[],:.+-_=/0129aAgzZ`) {
			add(r)
		}
		if 'a' <= c|0x20 && c|0x20 <= 'z' {
			add(c ^ 0x20)
		}
	default:
		for r := byte(0x20); r < 0x7f; r++ {
			add(r)
		}
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

// base64Equivalent reports whether changing the digit at s[at] from old to
// new leaves the decoded bytes as they were. It does when the two digits
// have the same value in the standard and URL-safe alphabets (DSSE allows
// both), or when they differ only in the padding bits of the last digit
// before '=': with "==" its low 4 bits, with "=" its low 2 bits.
func base64Equivalent(s []byte, at int, old, new byte) bool {
	value := func(c byte) (int, bool) {
		switch c {
		case '-':
			return 62, true
		case '_':
			return 63, true
		}
		i := strings.IndexByte(base64Alphabet, c)
		return i, i >= 0
	}
	vo, ok1 := value(old)
	vn, ok2 := value(new)
	if !ok1 || !ok2 {
		return false
	}
	padBits := 0
	if at+1 < len(s) && s[at+1] == '=' {
		padBits = 2 * (len(s) - at - 1)
	}
	return vo>>padBits == vn>>padBits
}

// TestEntryFlipEveryByte changes every byte of each vector's entry, and
// checks that no changed entry parses and verifies, for every signer of the
// original, unless it decodes to the very same signed envelope. What may
// still differ is then only what no author signs: the receive time.
func TestEntryFlipEveryByte(t *testing.T) {
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
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
			received, keyids, b64 := entrySpans(t, orig, want)
			outcomes := map[string]int{}
			var nonCanonical []string
			m := bytes.Clone(orig)
			for i, c := range orig {
				for _, r := range replacements(orig, i, keyids, b64) {
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
							t.Errorf("%s: the %s decodes to the same bytes, yet the digit's value changed beyond the padding bits", what, in.name)
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
	if st, _, err := truce.ParseStatement(e.Envelope.Payload); err != nil || st.ID != want.Statement.ID || st.Type != want.Statement.Type {
		t.Errorf("%s: ParseStatement of the same payload gives %v, %v", what, st, err)
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
// an auditor that re-encodes an entry must get the leaf back, and no two
// leaves should hold the same entry. Each case below is the incident
// vector written another way that decodes to the same entry.
func TestParseEntryCanonical(t *testing.T) {
	good := string(readVector(t, "incident/entry.json"))
	e, err := truce.ParseEntry([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	sig := base64.StdEncoding.EncodeToString(e.Envelope.Signatures[0].Sig)
	keyid := e.Envelope.Signatures[0].KeyID
	// The last digit before "==" carries 2 bits of the signature and 4
	// padding bits, which a lenient decoder ignores.
	last := strings.IndexByte(base64Alphabet, sig[len(sig)-3])
	paddingBits := sig[:len(sig)-3] + string(base64Alphabet[last^0x01]) + "=="
	tests := []struct{ name, entry string }{
		{"name in another case", strings.Replace(good, `"received"`, `"Received"`, 1)},
		{"envelope name in another case", strings.Replace(good, `"payloadType"`, `"payloadtype"`, 1)},
		{"signature name in another case", strings.Replace(good, `"keyid"`, `"KeyID"`, 1)},
		{"name with a Kelvin sign", strings.Replace(good, `"keyid"`, "\"\u212aeyid\"", 1)},
		{"duplicate name", strings.Replace(good, `{"received":`, `{"received":"2025-01-01T00:00:00.000Z","received":`, 1)},
		{"comma before the milliseconds", strings.Replace(good, `03.123Z`, `03,123Z`, 1)},
		{"sign in the milliseconds", strings.Replace(string(readVector(t, "assessment/entry.json")), `00.007Z`, `00.+07Z`, 1)},
		{"escaped character", strings.Replace(good, `"keyid":"`+keyid[:1], `"keyid":"\u00`+hex.EncodeToString([]byte(keyid[:1])), 1)},
		{"escaped slash", strings.Replace(good, `application/vnd`, `application\/vnd`, 1)},
		{"whitespace", strings.Replace(good, `,"envelope":`, `, "envelope": `, 1)},
		{"newline in base64", strings.Replace(good, `"payload":"eyJ0`, `"payload":"eyJ0\n`, 1)},
		{"padding bits", strings.Replace(good, sig, paddingBits, 1)},
		{"URL-safe alphabet", strings.Replace(good, sig, base64.URLEncoding.EncodeToString(e.Envelope.Signatures[0].Sig), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.entry == good {
				t.Fatal("the case does not change the entry")
			}
			if got, err := truce.ParseEntry([]byte(tt.entry)); err == nil {
				again, _ := truce.MarshalEntry(got.Received, got.Envelope)
				t.Errorf("ParseEntry accepts\n%s\nwhich MarshalEntry writes\n%s", tt.entry, again)
			}
		})
	}
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

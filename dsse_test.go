package truce_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/truce-mechanism/truce"
)

func TestPAE(t *testing.T) {
	tests := []struct {
		payloadType string
		payload     string
		want        string
	}{
		// From the DSSE spec's protocol.md test vector.
		{"http://example.com/HelloWorld", "hello world", "DSSEv1 29 http://example.com/HelloWorld 11 hello world"},
		{"", "", "DSSEv1 0  0 "},
		{truce.PayloadType, "{}", "DSSEv1 36 application/vnd.truce.statement+json 2 {}"},
		// Lengths are in bytes, not characters.
		{truce.PayloadType, "é", "DSSEv1 36 application/vnd.truce.statement+json 2 é"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := string(truce.PAE(tt.payloadType, []byte(tt.payload))); got != tt.want {
				t.Errorf("PAE(%q, %q) = %q, want %q", tt.payloadType, tt.payload, got, tt.want)
			}
		})
	}
}

// envelopeJSON is the incident vector's envelope as JSON, after change
// has edited its fields and those of its one signature.
func envelopeJSON(t *testing.T, change func(env, sig map[string]any)) string {
	t.Helper()
	env, err := truce.ParseEnvelope(readVector(t, "incident/envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	sig := map[string]any{
		"keyid": env.Signatures[0].KeyID,
		"sig":   base64.StdEncoding.EncodeToString(env.Signatures[0].Sig),
	}
	m := map[string]any{
		"payload":     base64.StdEncoding.EncodeToString(env.Payload),
		"payloadType": env.PayloadType,
		"signatures":  []any{sig},
	}
	if change != nil {
		change(m, sig)
	}
	return string(marshal(t, m))
}

// set returns a change for envelopeJSON that sets one field of the
// envelope (env) or of its signature (sig), or removes it (deleted{}).
func set(where, field string, v any) func(env, sig map[string]any) {
	return func(env, sig map[string]any) {
		m := env
		if where == "sig" {
			m = sig
		}
		if _, ok := v.(deleted); ok {
			delete(m, field)
		} else {
			m[field] = v
		}
	}
}

func TestParseEnvelope(t *testing.T) {
	orig, err := truce.ParseEnvelope(readVector(t, "incident/envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	urlPayload := base64.URLEncoding.EncodeToString(orig.Payload)
	urlSig := base64.URLEncoding.EncodeToString(orig.Signatures[0].Sig)
	tests := []struct {
		name string
		json string
	}{
		{"vector", string(readVector(t, "incident/envelope.json"))},
		{"rebuilt", envelopeJSON(t, nil)},
		// DSSE lets envelopes use either base64 alphabet.
		{"URL-safe base64", envelopeJSON(t, func(env, sig map[string]any) {
			env["payload"], sig["sig"] = urlPayload, urlSig
		})},
		{"fields in another order", `{"signatures":[{"sig":"` + base64.StdEncoding.EncodeToString(orig.Signatures[0].Sig) + `","keyid":"` + orig.Signatures[0].KeyID + `"}],"payloadType":"` + truce.PayloadType + `","payload":"` + base64.StdEncoding.EncodeToString(orig.Payload) + `"}`},
		{"whitespace", " \n" + strings.ReplaceAll(envelopeJSON(t, nil), ",", ",\n\t") + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := truce.ParseEnvelope([]byte(tt.json))
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			if !sameEnvelope(env, orig) {
				t.Errorf("ParseEnvelope gives %+v, want %+v", env, orig)
			}
			if ok, err := env.Verify(vectorPub("mon-1")); !ok || err != nil {
				t.Errorf("Verify = %v, %v; want true, nil", ok, err)
			}
		})
	}
}

func TestParseEnvelopeErrors(t *testing.T) {
	good := envelopeJSON(t, nil)
	keyid := truce.KeyID(vectorPub("mon-1"))
	sigOf := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		name   string
		json   string
		is     error
		phrase string
	}{
		{"empty", "", truce.ErrMalformed, "not JSON"},
		{"not JSON", "envelope", truce.ErrMalformed, "not JSON"},
		{"truncated", good[:len(good)-2], truce.ErrMalformed, "not JSON"},
		{"trailing data", good + "{}", truce.ErrMalformed, "not JSON"},
		{"a list", "[" + good + "]", truce.ErrMalformed, "must be an object"},
		{"null", "null", truce.ErrMalformed, "payloadType"},
		{"unknown field", envelopeJSON(t, set("env", "payloadEncoding", "base64")), truce.ErrMalformed, `unknown field "payloadEncoding"`},
		{"unknown signature field", envelopeJSON(t, set("sig", "alg", "ed25519")), truce.ErrMalformed, `unknown field "alg"`},
		{"payload a number", envelopeJSON(t, set("env", "payload", 5)), truce.ErrMalformed, "payload must be a string"},
		{"signatures an object", envelopeJSON(t, set("env", "signatures", map[string]any{})), truce.ErrMalformed, "signatures must be a list"},
		{"wrong payloadType", envelopeJSON(t, set("env", "payloadType", "application/vnd.in-toto+json")), truce.ErrMalformed, `payloadType is "application/vnd.in-toto+json", want "application/vnd.truce.statement+json"`},
		{"payloadType in another case", envelopeJSON(t, set("env", "payloadType", "application/vnd.truce.statement+JSON")), truce.ErrMalformed, "payloadType"},
		{"payloadType missing", envelopeJSON(t, set("env", "payloadType", deleted{})), truce.ErrMalformed, `payloadType is ""`},
		{"payload bad base64", envelopeJSON(t, set("env", "payload", "eyJ0eXBlIjoid2l0aGRyYXci!!")), truce.ErrMalformed, "payload is not base64"},
		{"payload unpadded base64", envelopeJSON(t, set("env", "payload", "e30")), truce.ErrMalformed, "payload is not base64"},
		{"payload mixed alphabets", envelopeJSON(t, set("env", "payload", "ab+_")), truce.ErrMalformed, "payload is not base64"},
		{"payload empty", envelopeJSON(t, set("env", "payload", "")), truce.ErrMalformed, "payload is empty"},
		{"payload missing", envelopeJSON(t, set("env", "payload", deleted{})), truce.ErrMalformed, "payload is empty"},
		{"no signatures", envelopeJSON(t, set("env", "signatures", []any{})), truce.ErrSignature, "no signatures"},
		{"signatures null", envelopeJSON(t, set("env", "signatures", nil)), truce.ErrSignature, "no signatures"},
		{"signatures missing", envelopeJSON(t, set("env", "signatures", deleted{})), truce.ErrSignature, "no signatures"},
		{"keyid missing", envelopeJSON(t, set("sig", "keyid", deleted{})), truce.ErrMalformed, `signatures[0].keyid "" is not 64 lowercase hex digits`},
		{"keyid upper case", envelopeJSON(t, set("sig", "keyid", strings.ToUpper(keyid))), truce.ErrMalformed, "signatures[0].keyid"},
		{"keyid not hex", envelopeJSON(t, set("sig", "keyid", strings.Repeat("g", 64))), truce.ErrMalformed, "64 lowercase hex digits"},
		{"keyid short", envelopeJSON(t, set("sig", "keyid", keyid[:63])), truce.ErrMalformed, "64 lowercase hex digits"},
		{"keyid long", envelopeJSON(t, set("sig", "keyid", keyid+"0")), truce.ErrMalformed, "64 lowercase hex digits"},
		{"keyid the base64 key", envelopeJSON(t, set("sig", "keyid", truce.EncodePublicKey(vectorPub("mon-1")))), truce.ErrMalformed, "keyid"},
		{"sig bad base64", envelopeJSON(t, set("sig", "sig", "not base64")), truce.ErrMalformed, "signatures[0].sig is not base64"},
		{"sig missing", envelopeJSON(t, set("sig", "sig", deleted{})), truce.ErrMalformed, "signatures[0].sig is 0 bytes"},
		{"sig 63 bytes", envelopeJSON(t, set("sig", "sig", sigOf(63))), truce.ErrMalformed, "signatures[0].sig is 63 bytes, an Ed25519 signature is 64"},
		{"sig 65 bytes", envelopeJSON(t, set("sig", "sig", sigOf(65))), truce.ErrMalformed, "is 65 bytes"},
		{"second signature bad", envelopeJSON(t, func(env, sig map[string]any) {
			env["signatures"] = []any{sig, map[string]any{"keyid": keyid, "sig": sigOf(60)}}
		}), truce.ErrMalformed, "signatures[1].sig is 60 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := truce.ParseEnvelope([]byte(tt.json))
			if err == nil {
				t.Fatalf("ParseEnvelope(%s) = %+v, want an error", tt.json, env)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("ParseEnvelope: %v, want an error matching %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.phrase) {
				t.Errorf("error %q does not say %q", err, tt.phrase)
			}
		})
	}
}

func TestParseEnvelopeSize(t *testing.T) {
	good := envelopeJSON(t, nil)
	// JSON allows whitespace after the value: pad the envelope to size.
	pad := func(n int) []byte { return []byte(good + strings.Repeat(" ", n-len(good))) }
	if _, err := truce.ParseEnvelope(pad(truce.MaxStatementSize)); err != nil {
		t.Errorf("ParseEnvelope of %d bytes: %v, want no error", truce.MaxStatementSize, err)
	}
	for _, n := range []int{truce.MaxStatementSize + 1, 1 << 20} {
		_, err := truce.ParseEnvelope(pad(n))
		var se *truce.SizeError
		if !errors.As(err, &se) {
			t.Fatalf("ParseEnvelope of %d bytes: %v, want a *SizeError", n, err)
		}
		if se.Size != n || se.Max != truce.MaxStatementSize {
			t.Errorf("SizeError{Size: %d, Max: %d}, want {%d, %d}", se.Size, se.Max, n, truce.MaxStatementSize)
		}
		if want := "the limit is 61440"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
		if errors.Is(err, truce.ErrMalformed) {
			t.Errorf("SizeError %v matches ErrMalformed, want it apart (413, not 400)", err)
		}
	}
}

func TestEnvelopeMarshalJSON(t *testing.T) {
	env := &truce.Envelope{PayloadType: truce.PayloadType, Payload: []byte("{}")}
	got, err := env.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"payload":"e30=","payloadType":"application/vnd.truce.statement+json","signatures":[]}`; string(got) != want {
		t.Errorf("MarshalJSON = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	env, err := truce.ParseEnvelope(readVector(t, "incident/envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	author := vectorPub("mon-1")
	t.Run("author", func(t *testing.T) {
		if ok, err := env.Verify(author); !ok || err != nil {
			t.Errorf("Verify = %v, %v; want true, nil", ok, err)
		}
	})
	t.Run("another key", func(t *testing.T) {
		// No signature by the key: not an error, but not verified either.
		if ok, err := env.Verify(vectorPub("af-1")); ok || err != nil {
			t.Errorf("Verify = %v, %v; want false, nil", ok, err)
		}
	})
	t.Run("changed payload", func(t *testing.T) {
		e := *env
		e.Payload = bytes.Replace(env.Payload, []byte(`"fatalities":2`), []byte(`"fatalities":3`), 1)
		ok, err := e.Verify(author)
		if ok || !errors.Is(err, truce.ErrSignature) {
			t.Errorf("Verify = %v, %v; want false, an ErrSignature error", ok, err)
		}
		if want := "does not verify"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	})
	t.Run("changed payloadType", func(t *testing.T) {
		// The payload type is signed too, through the PAE.
		e := *env
		e.PayloadType = "application/vnd.in-toto+json"
		if ok, err := e.Verify(author); ok || !errors.Is(err, truce.ErrSignature) {
			t.Errorf("Verify = %v, %v; want false, an ErrSignature error", ok, err)
		}
	})
	t.Run("signature over the payload alone", func(t *testing.T) {
		// DSSE signs the PAE, never the bare payload.
		e := *env
		e.Signatures = []truce.Signature{{KeyID: truce.KeyID(author), Sig: ed25519.Sign(vectorKey("mon-1"), env.Payload)}}
		if ok, err := e.Verify(author); ok || !errors.Is(err, truce.ErrSignature) {
			t.Errorf("Verify = %v, %v; want false, an ErrSignature error", ok, err)
		}
	})
	t.Run("a second, bad signature by the same key", func(t *testing.T) {
		e := *env
		e.Signatures = []truce.Signature{env.Signatures[0], {KeyID: env.Signatures[0].KeyID, Sig: make([]byte, 64)}}
		if ok, err := e.Verify(author); ok || !errors.Is(err, truce.ErrSignature) {
			t.Errorf("Verify = %v, %v; want false, an ErrSignature error", ok, err)
		}
	})
}

// charterEnvelope is the charter vector's envelope, signed by three keys.
func charterEnvelope(t *testing.T) *truce.Envelope {
	t.Helper()
	env, err := truce.ParseEnvelope(readVector(t, "charter/envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// memberKeys looks up the vectors' member keys by keyid.
func memberKeys(names ...string) func(string) (ed25519.PublicKey, bool) {
	keys := map[string]ed25519.PublicKey{}
	for _, n := range names {
		keys[truce.KeyID(vectorPub(n))] = vectorPub(n)
	}
	return func(id string) (ed25519.PublicKey, bool) {
		k, ok := keys[id]
		return k, ok
	}
}

func TestCoSign(t *testing.T) {
	signers := []string{"m-tr-1", "af-1", "pk-1"}
	t.Run("VerifyAll", func(t *testing.T) {
		got, err := charterEnvelope(t).VerifyAll(memberKeys(vectorKeyNames...))
		if err != nil {
			t.Fatalf("VerifyAll: %v", err)
		}
		if len(got) != len(signers) {
			t.Errorf("VerifyAll = %v, want the %d signers", got, len(signers))
		}
		for _, n := range signers {
			if !got[truce.KeyID(vectorPub(n))] {
				t.Errorf("VerifyAll = %v, lacks %s", got, n)
			}
		}
	})
	t.Run("sign again replaces", func(t *testing.T) {
		env := charterEnvelope(t)
		orig := charterEnvelope(t)
		// Spoil af-1's signature, then have af-1 sign again.
		env.Signatures[1].Sig = make([]byte, ed25519.SignatureSize)
		env.Sign(vectorKey("af-1"))
		if got := len(env.Signatures); got != len(signers) {
			t.Fatalf("%d signatures after signing again, want %d", got, len(signers))
		}
		if !sameEnvelope(env, orig) {
			t.Errorf("signing again gives %+v, want the original %+v", env.Signatures, orig.Signatures)
		}
		env.Sign(vectorKey("af-1"))
		env.Sign(vectorKey("m-tr-1"))
		if got := len(env.Signatures); got != len(signers) {
			t.Errorf("%d signatures after signing twice more, want %d", got, len(signers))
		}
		if _, err := env.VerifyAll(memberKeys(signers...)); err != nil {
			t.Errorf("VerifyAll: %v", err)
		}
	})
	t.Run("new signer appends", func(t *testing.T) {
		env := charterEnvelope(t)
		env.Sign(vectorKey("mon-1"))
		if got, want := len(env.Signatures), len(signers)+1; got != want {
			t.Fatalf("%d signatures, want %d", got, want)
		}
		if got, want := env.Signatures[3].KeyID, truce.KeyID(vectorPub("mon-1")); got != want {
			t.Errorf("new signature's keyid is %s, want %s", got, want)
		}
		if ok, err := env.Verify(vectorPub("mon-1")); !ok || err != nil {
			t.Errorf("Verify = %v, %v; want true, nil", ok, err)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		// pk-1 signed, but is not a member the lookup knows.
		got, err := charterEnvelope(t).VerifyAll(memberKeys("m-tr-1", "af-1"))
		if !errors.Is(err, truce.ErrSignature) || got != nil {
			t.Fatalf("VerifyAll = %v, %v; want nil, an ErrSignature error", got, err)
		}
		id := truce.KeyID(vectorPub("pk-1"))
		if want := "key " + id[:16] + " is not a member key"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	})
	t.Run("signature moved to another keyid", func(t *testing.T) {
		env := charterEnvelope(t)
		// af-1's signature, claimed by pk-1.
		env.Signatures[2].Sig = env.Signatures[1].Sig
		ok, err := env.Verify(vectorPub("pk-1"))
		if ok || !errors.Is(err, truce.ErrSignature) {
			t.Errorf("Verify(pk-1) = %v, %v; want false, an ErrSignature error", ok, err)
		}
		if got, err := env.VerifyAll(memberKeys(vectorKeyNames...)); !errors.Is(err, truce.ErrSignature) {
			t.Errorf("VerifyAll = %v, %v; want an ErrSignature error", got, err)
		}
	})
	t.Run("keyids swapped", func(t *testing.T) {
		env := charterEnvelope(t)
		env.Signatures[1].KeyID, env.Signatures[2].KeyID = env.Signatures[2].KeyID, env.Signatures[1].KeyID
		for _, n := range []string{"af-1", "pk-1"} {
			if ok, err := env.Verify(vectorPub(n)); ok || !errors.Is(err, truce.ErrSignature) {
				t.Errorf("Verify(%s) = %v, %v; want false, an ErrSignature error", n, ok, err)
			}
		}
		if _, err := env.VerifyAll(memberKeys(vectorKeyNames...)); !errors.Is(err, truce.ErrSignature) {
			t.Errorf("VerifyAll: %v, want an ErrSignature error", err)
		}
	})
	t.Run("signature removed", func(t *testing.T) {
		env := charterEnvelope(t)
		env.Signatures = env.Signatures[:2]
		got, err := env.VerifyAll(memberKeys(vectorKeyNames...))
		if err != nil {
			t.Fatalf("VerifyAll: %v", err)
		}
		if got[truce.KeyID(vectorPub("pk-1"))] || len(got) != 2 {
			t.Errorf("VerifyAll = %v, want m-tr-1 and af-1 only", got)
		}
	})
}

// TestVerifyAllShortKeyID checks that VerifyAll reports, and does not
// panic on, an envelope made in code whose keyid is not a full keyid:
// only UnmarshalJSON checks keyids, and VerifyAll slices them for its
// message.
func TestVerifyAllShortKeyID(t *testing.T) {
	env := &truce.Envelope{PayloadType: truce.PayloadType, Payload: []byte("{}"), Signatures: []truce.Signature{{KeyID: "af-1", Sig: make([]byte, 64)}}}
	_, err := env.VerifyAll(memberKeys(vectorKeyNames...))
	if !errors.Is(err, truce.ErrSignature) {
		t.Errorf("VerifyAll: %v, want an ErrSignature error", err)
	}
}

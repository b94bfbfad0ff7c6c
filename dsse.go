// Package truce is the public wire format of a truce mechanism: statements,
// their DSSE envelopes, member keys, signing and verifying, and the entries
// of the log. It is all a third party needs to check a truce log without
// trusting the server that published it.
package truce

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// PayloadType is the DSSE payloadType of every truce statement.
const PayloadType = "application/vnd.truce.statement+json"

// MaxStatementSize is the largest statement envelope, as JSON, that a
// mechanism takes. Log entries are length-prefixed with 16 bits, so the
// whole entry (envelope plus receive time) must stay under 64 KiB.
const MaxStatementSize = 60 << 10

// Envelope is a DSSE v1 envelope.
//
// SPEC: https://github.com/secure-systems-lab/dsse/blob/master/envelope.md
type Envelope struct {
	// PayloadType is always PayloadType for truce statements.
	PayloadType string `json:"payloadType"`
	// Payload is the signed statement JSON, exactly as its author signed it.
	Payload []byte `json:"-"`
	// Signatures are Ed25519 signatures over PAE(PayloadType, Payload).
	Signatures []Signature `json:"signatures"`
}

// Signature is one signature of an envelope.
type Signature struct {
	// KeyID is the lowercase hex SHA-256 of the signer's raw public key.
	KeyID string `json:"keyid"`
	// Sig is the raw 64-byte Ed25519 signature.
	Sig []byte `json:"sig"`
}

// ErrMalformed is matched by every error about input that is not a
// well-formed envelope or statement.
var ErrMalformed = errors.New("malformed")

// ErrSignature is matched by every error about a signature that does not
// verify, or is missing.
var ErrSignature = errors.New("bad signature")

type wireEnvelope struct {
	Payload     string          `json:"payload"`
	PayloadType string          `json:"payloadType"`
	Signatures  []wireSignature `json:"signatures"`
}

type wireSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// MarshalJSON encodes the envelope as DSSE JSON, with standard base64.
// It is written by hand because it is on every statement's path: only
// payloadType can need escaping, and keyids and base64 never do.
func (e *Envelope) MarshalJSON() ([]byte, error) {
	pt, err := json.Marshal(e.PayloadType)
	if err != nil {
		return nil, err
	}
	n := 64 + base64.StdEncoding.EncodedLen(len(e.Payload)) + len(pt) + len(e.Signatures)*(96+base64.StdEncoding.EncodedLen(ed25519.SignatureSize))
	b := make([]byte, 0, n)
	b = append(b, `{"payload":"`...)
	b = base64.StdEncoding.AppendEncode(b, e.Payload)
	b = append(b, `","payloadType":`...)
	b = append(b, pt...)
	b = append(b, `,"signatures":[`...)
	for i, s := range e.Signatures {
		if i > 0 {
			b = append(b, ',')
		}
		if !validKeyID(s.KeyID) {
			return nil, malformed("signatures[%d].keyid %q is not 64 lowercase hex digits", i, s.KeyID)
		}
		b = append(b, `{"keyid":"`...)
		b = append(b, s.KeyID...)
		b = append(b, `","sig":"`...)
		b = base64.StdEncoding.AppendEncode(b, s.Sig)
		b = append(b, `"}`...)
	}
	b = append(b, "]}"...)
	return b, nil
}

// UnmarshalJSON decodes DSSE JSON strictly: unknown fields, bad base64,
// a missing keyid or a signature of the wrong size are errors.
func (e *Envelope) UnmarshalJSON(data []byte) error {
	w, ok := canonicalEnvelope(data)
	if !ok {
		if typ, _ := statementType(data); typ != "" {
			return malformed("envelope: this is a %s statement that nobody signed, not a DSSE envelope: sign it (truce sign --key FILE) and send the envelope that gives", typ)
		}
		d := json.NewDecoder(bytes.NewReader(data))
		d.DisallowUnknownFields()
		if err := d.Decode(&w); err != nil {
			return malformed("envelope: %s", jsonProblem(err))
		}
		if d.More() {
			return malformed("envelope: trailing data after the JSON object")
		}
		if err := exactNames(data, reflect.TypeOf(w)); err != nil {
			return malformed("envelope: %v", err)
		}
	}
	env, err := w.envelope(decodeBase64)
	if err != nil {
		return err
	}
	*e = *env
	return nil
}

// envelope checks a decoded wire envelope and decodes its base64 with
// decode.
func (w *wireEnvelope) envelope(decode func(string) ([]byte, error)) (*Envelope, error) {
	if w.PayloadType != PayloadType {
		return nil, malformed("envelope: payloadType is %q, want %q", w.PayloadType, PayloadType)
	}
	payload, err := decode(w.Payload)
	if err != nil {
		return nil, malformed("envelope: payload is not base64: %v", err)
	}
	if len(payload) == 0 {
		return nil, malformed("envelope: payload is empty")
	}
	if len(w.Signatures) == 0 {
		return nil, badSignature("envelope has no signatures")
	}
	sigs := make([]Signature, len(w.Signatures))
	for i, s := range w.Signatures {
		if !validKeyID(s.KeyID) {
			return nil, malformed("envelope: signatures[%d].keyid %q is not 64 lowercase hex digits", i, s.KeyID)
		}
		sig, err := decode(s.Sig)
		if err != nil {
			return nil, malformed("envelope: signatures[%d].sig is not base64: %v", i, err)
		}
		if len(sig) != ed25519.SignatureSize {
			return nil, malformed("envelope: signatures[%d].sig is %d bytes, an Ed25519 signature is %d", i, len(sig), ed25519.SignatureSize)
		}
		sigs[i] = Signature{KeyID: s.KeyID, Sig: sig}
	}
	return &Envelope{PayloadType: w.PayloadType, Payload: payload, Signatures: sigs}, nil
}

// canonicalEnvelope reads an envelope in exactly the form MarshalJSON
// writes, which is what truce's own tools send, without a JSON decoder.
// Anything else (other spacing, order or escapes) is left to the decoder.
func canonicalEnvelope(data []byte) (w wireEnvelope, ok bool) {
	rest, ok := bytes.CutPrefix(data, []byte(`{"payload":"`))
	if !ok {
		return w, false
	}
	if w.Payload, rest, ok = base64Token(rest); !ok {
		return w, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`","payloadType":"`+PayloadType+`","signatures":[`)); !ok {
		return w, false
	}
	w.PayloadType = PayloadType
	for len(w.Signatures) == 0 || rest[0] == ',' {
		if len(w.Signatures) > 0 {
			rest = rest[1:]
		}
		var s wireSignature
		if rest, ok = bytes.CutPrefix(rest, []byte(`{"keyid":"`)); !ok || len(rest) < 64 {
			return w, false
		}
		s.KeyID, rest = string(rest[:64]), rest[64:]
		if rest, ok = bytes.CutPrefix(rest, []byte(`","sig":"`)); !ok {
			return w, false
		}
		if s.Sig, rest, ok = base64Token(rest); !ok {
			return w, false
		}
		if rest, ok = bytes.CutPrefix(rest, []byte(`"}`)); !ok || len(rest) == 0 {
			return w, false
		}
		w.Signatures = append(w.Signatures, s)
	}
	return w, string(rest) == "]}"
}

// base64Token reads base64 characters up to the next quote.
func base64Token(b []byte) (string, []byte, bool) {
	for i, c := range b {
		switch {
		case c == '"':
			return string(b[:i]), b[i:], true
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
		default:
			return "", nil, false
		}
	}
	return "", nil, false
}

// PAE is DSSE's pre-authentication encoding of a payload: the bytes that
// are actually signed.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// Sign adds a signature by key to the envelope. Signing twice with one key
// replaces the earlier signature, so co-signing is idempotent.
func (e *Envelope) Sign(key ed25519.PrivateKey) {
	pub := key.Public().(ed25519.PublicKey)
	id := KeyID(pub)
	sig := Signature{KeyID: id, Sig: ed25519.Sign(key, PAE(e.PayloadType, e.Payload))}
	for i := range e.Signatures {
		if e.Signatures[i].KeyID == id {
			e.Signatures[i] = sig
			return
		}
	}
	e.Signatures = append(e.Signatures, sig)
}

// Verify reports whether the envelope carries a signature by pub that
// verifies. A signature under pub's keyid that does not verify is an error.
func (e *Envelope) Verify(pub ed25519.PublicKey) (bool, error) {
	id := KeyID(pub)
	msg := PAE(e.PayloadType, e.Payload)
	found := false
	for _, s := range e.Signatures {
		if s.KeyID != id {
			continue
		}
		if !ed25519.Verify(pub, msg, s.Sig) {
			return false, badSignature("the signature by key %s does not verify", id[:16])
		}
		found = true
	}
	return found, nil
}

// VerifyAll checks every signature whose key keys knows, and returns the
// set of keyids whose signatures verified. It fails on the first signature
// that does not verify, and on a signature by a key keys does not know.
func (e *Envelope) VerifyAll(keys func(keyid string) (ed25519.PublicKey, bool)) (map[string]bool, error) {
	msg := PAE(e.PayloadType, e.Payload)
	ok := make(map[string]bool, len(e.Signatures))
	for _, s := range e.Signatures {
		pub, known := keys(s.KeyID)
		if !known {
			return nil, badSignature("key %s is not a member key of this mechanism", shortKeyID(s.KeyID))
		}
		if !ed25519.Verify(pub, msg, s.Sig) {
			return nil, badSignature("the signature by key %s does not verify", shortKeyID(s.KeyID))
		}
		ok[s.KeyID] = true
	}
	return ok, nil
}

// ParseEnvelope decodes a DSSE envelope from JSON.
func ParseEnvelope(data []byte) (*Envelope, error) {
	if len(data) > MaxStatementSize {
		return nil, &SizeError{Size: len(data), Max: MaxStatementSize}
	}
	e := new(Envelope)
	if err := e.UnmarshalJSON(data); err != nil {
		if !json.Valid(data) {
			return nil, malformed("envelope is not JSON: %v", errors.Unwrap(err))
		}
		return nil, err
	}
	return e, nil
}

// SizeError is returned for a statement over MaxStatementSize.
type SizeError struct {
	// Size is the size of what was given, in bytes.
	Size int
	// Max is the limit.
	Max int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("statement is %d bytes, the limit is %d", e.Size, e.Max)
}

func decodeBase64(s string) ([]byte, error) {
	// DSSE allows either the standard or the URL-safe alphabet.
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.URLEncoding.DecodeString(s)
}

// shortKeyID is the start of a keyid, for messages. Envelopes made in code
// may carry any keyid; only UnmarshalJSON checks them.
func shortKeyID(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return id
}

func validKeyID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func malformed(format string, args ...any) error {
	return &KindError{Kind: ErrMalformed, Err: fmt.Errorf(format, args...)}
}

// KindError is an error of a kind that callers branch on (ErrMalformed,
// ErrSignature, ...). Its message is Err's alone, so that users read what
// is wrong rather than the kind's name; errors.Is matches the kind.
type KindError struct {
	Kind error
	Err  error
}

func (e *KindError) Error() string { return e.Err.Error() }

// Is reports whether target is the error's kind.
func (e *KindError) Is(target error) bool { return target == e.Kind }

// Unwrap gives the underlying error.
func (e *KindError) Unwrap() error { return e.Err }

func badSignature(format string, args ...any) error {
	return &KindError{Kind: ErrSignature, Err: fmt.Errorf(format, args...)}
}

// jsonProblem turns an encoding/json error into a message for users.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "empty, want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	case errors.As(err, &se) && strings.Contains(se.Error(), "after top-level value"):
		return fmt.Sprintf("trailing data after the JSON object, at byte %d", se.Offset)
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("%s must be %s, not a JSON %s", field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	return err.Error()
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice":
		return "a list"
	case "struct", "map", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	}
	return "a number"
}

package truce

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// ReceivedLayout is the layout of an entry's receive time: UTC, with
// exactly three fractional digits.
const ReceivedLayout = "2006-01-02T15:04:05.000Z"

// MaxEntrySize is the largest log entry: C2SP tlog-tiles entry bundles
// prefix each entry with a 16-bit length.
const MaxEntrySize = 1<<16 - 1

// Entry is one entry of the log: the server's receive time and the
// envelope it received.
type Entry struct {
	// Received is when the server received the envelope. The mechanism's
	// clock at entry n is the largest Received of entries 0..n.
	Received time.Time
	// Envelope is the signed statement.
	Envelope *Envelope

	// Statement and Body are the envelope's statement and its typed body,
	// set by ParseEntry when the payload is a valid statement.
	Statement *Statement
	Body      any
	// Problem is why the payload is not a valid statement, if it is not.
	Problem error
}

type wireEntry struct {
	Received string          `json:"received"`
	Envelope json.RawMessage `json:"envelope"`
}

// MarshalEntry encodes an entry as the log holds it:
// {"received":"2025-11-07T10:00:03.123Z","envelope":{...}}.
func MarshalEntry(received time.Time, env *Envelope) ([]byte, error) {
	envJSON, err := env.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"received":"`)
	b.WriteString(received.UTC().Format(ReceivedLayout))
	b.WriteString(`","envelope":`)
	b.Write(envJSON)
	b.WriteByte('}')
	if b.Len() > MaxEntrySize {
		return nil, &SizeError{Size: b.Len(), Max: MaxEntrySize}
	}
	return b.Bytes(), nil
}

// firstDifference is the index of the first byte where a and b differ.
func firstDifference(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// ParseEntry decodes a log entry. An error means the bytes are not a
// truce entry at all; an entry whose envelope parses but whose statement
// does not is returned with Problem set.
func ParseEntry(data []byte) (*Entry, error) {
	e, ok := canonicalEntry(data)
	if !ok {
		var err error
		if e, err = generalEntry(data); err != nil {
			return nil, err
		}
	}
	e.Statement, e.Body, e.Problem = ParseStatement(e.Envelope.Payload)
	return e, nil
}

// generalEntry decodes an entry with a JSON decoder, and refuses it with
// the reason when it is not in the one form MarshalEntry writes.
func generalEntry(data []byte) (*Entry, error) {
	var w wireEntry
	if err := strictDecode(data, &w); err != nil {
		return nil, malformed("entry: %s", err)
	}
	received, err := time.Parse(ReceivedLayout, w.Received)
	if err != nil {
		return nil, malformed("entry: received %q is not UTC with three fractional digits (%s)", w.Received, ReceivedLayout)
	}
	if len(w.Envelope) == 0 {
		return nil, malformed("entry: envelope is required")
	}
	env := new(Envelope)
	if err := env.UnmarshalJSON(w.Envelope); err != nil {
		return nil, fmt.Errorf("entry: %w", err)
	}
	// The log's leaves are bytes: take each entry in the one form
	// MarshalEntry writes, so that re-encoding an entry gives its leaf
	// back and no two leaves hold the same entry.
	canon, err := MarshalEntry(received, env)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, data) {
		return nil, malformed("entry: not in canonical form (byte %d differs from what MarshalEntry writes)", firstDifference(canon, data))
	}
	return &Entry{Received: received, Envelope: env}, nil
}

var strictBase64 = base64.StdEncoding.Strict()

// canonicalEntry reads an entry laid out exactly as MarshalEntry writes
// it, which every entry a truce server logs is, without a JSON decoder or
// re-encoding: each part is checked to be the one form MarshalEntry gives
// (UTC time with three digits, strict standard base64). Anything else is
// left to the general path, which says what is wrong.
func canonicalEntry(data []byte) (*Entry, bool) {
	if len(data) > MaxEntrySize {
		return nil, false
	}
	rest, ok := bytes.CutPrefix(data, []byte(`{"received":"`))
	if !ok || len(rest) < len(ReceivedLayout) {
		return nil, false
	}
	stamp := string(rest[:len(ReceivedLayout)])
	received, err := time.Parse(ReceivedLayout, stamp)
	if err != nil || received.Format(ReceivedLayout) != stamp {
		return nil, false
	}
	rest, ok = bytes.CutPrefix(rest[len(ReceivedLayout):], []byte(`","envelope":`))
	if !ok {
		return nil, false
	}
	rest, ok = bytes.CutSuffix(rest, []byte("}"))
	if !ok {
		return nil, false
	}
	w, ok := canonicalEnvelope(rest)
	if !ok {
		return nil, false
	}
	env, err := w.envelope(strictBase64.DecodeString)
	if err != nil {
		return nil, false
	}
	return &Entry{Received: received, Envelope: env}, true
}

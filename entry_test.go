package truce_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
)

func TestMarshalEntryReceived(t *testing.T) {
	env, err := truce.ParseEnvelope(readVector(t, "incident/envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	kabul := time.FixedZone("AFT", 4*3600+1800)
	tests := []struct {
		name     string
		received time.Time
		want     string
	}{
		{"milliseconds", time.Date(2025, 11, 7, 10, 0, 3, 123e6, time.UTC), "2025-11-07T10:00:03.123Z"},
		{"whole second", time.Date(2025, 11, 7, 10, 0, 3, 0, time.UTC), "2025-11-07T10:00:03.000Z"},
		{"truncated, not rounded", time.Date(2025, 11, 7, 10, 0, 3, 999999999, time.UTC), "2025-11-07T10:00:03.999Z"},
		{"another zone", time.Date(2025, 11, 7, 14, 30, 3, 5e6, kabul), "2025-11-07T10:00:03.005Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := truce.MarshalEntry(tt.received, env)
			if err != nil {
				t.Fatal(err)
			}
			prefix := `{"received":"` + tt.want + `","envelope":{"payload":"`
			if !bytes.HasPrefix(b, []byte(prefix)) {
				t.Errorf("MarshalEntry = %.80s…, want it to begin %s", b, prefix)
			}
			e, err := truce.ParseEntry(b)
			if err != nil {
				t.Fatalf("ParseEntry: %v", err)
			}
			if got := e.Received.Format(truce.ReceivedLayout); got != tt.want {
				t.Errorf("ParseEntry's Received is %s, want %s", got, tt.want)
			}
			if e.Received.Location() != time.UTC {
				t.Errorf("ParseEntry's Received is in %v, want UTC", e.Received.Location())
			}
		})
	}
}

func TestMarshalEntrySize(t *testing.T) {
	env := &truce.Envelope{PayloadType: truce.PayloadType, Payload: bytes.Repeat([]byte("x"), 40<<10)}
	env.Sign(vectorKey("mon-1"))
	if _, err := truce.MarshalEntry(time.Now(), env); err != nil {
		t.Errorf("MarshalEntry of a 40 KiB payload: %v", err)
	}
	env.Payload = bytes.Repeat([]byte("x"), 50000)
	_, err := truce.MarshalEntry(time.Now(), env)
	var se *truce.SizeError
	if !errors.As(err, &se) {
		t.Fatalf("MarshalEntry of a 50000-byte payload: %v, want a *SizeError", err)
	}
	if se.Max != truce.MaxEntrySize || se.Size <= truce.MaxEntrySize {
		t.Errorf("SizeError{Size: %d, Max: %d}, want Max %d and Size over it", se.Size, se.Max, truce.MaxEntrySize)
	}
}

// TestEntryLimits checks that the limits fit together: a statement of the
// largest size, in the most verbose form its author may send, still makes
// an entry that fits the log's 16-bit length prefix.
func TestEntryLimits(t *testing.T) {
	// An envelope is mostly its base64 payload, whatever the alphabet, so
	// the largest payload is about 3/4 of MaxStatementSize; one signature
	// is the least overhead and so the largest payload.
	overhead := len(`{"payload":"","payloadType":"` + truce.PayloadType + `","signatures":[{"keyid":"` + strings.Repeat("0", 64) + `","sig":"` + strings.Repeat("A", 88) + `"}]}`)
	payload := (truce.MaxStatementSize - overhead) / 4 * 3
	env := &truce.Envelope{PayloadType: truce.PayloadType, Payload: bytes.Repeat([]byte("x"), payload)}
	env.Sign(vectorKey("mon-1"))
	envJSON, err := env.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := truce.ParseEnvelope(envJSON); err != nil {
		t.Fatalf("ParseEnvelope of %d bytes: %v", len(envJSON), err)
	}
	b, err := truce.MarshalEntry(time.Now(), env)
	if err != nil {
		t.Fatalf("MarshalEntry of the largest envelope: %v", err)
	}
	if len(b) > truce.MaxEntrySize {
		t.Errorf("entry is %d bytes, over %d", len(b), truce.MaxEntrySize)
	}
}

func TestParseEntry(t *testing.T) {
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			e, err := truce.ParseEntry(readVector(t, v.name+"/entry.json"))
			if err != nil {
				t.Fatalf("ParseEntry: %v", err)
			}
			if e.Problem != nil {
				t.Errorf("Problem = %v, want nil", e.Problem)
			}
			if !e.Received.Equal(v.received) {
				t.Errorf("Received = %v, want %v", e.Received, v.received)
			}
			if got, want := bodyType(v.statement.Type), bodyType(e.Statement.Type); got != want {
				t.Errorf("statement type %s, want %s", got, want)
			}
			again, err := truce.MarshalEntry(e.Received, e.Envelope)
			if err != nil {
				t.Fatal(err)
			}
			if want := readVector(t, v.name+"/entry.json"); !bytes.Equal(again, want) {
				t.Errorf("MarshalEntry(ParseEntry(entry)) = %s, want %s", again, want)
			}
		})
	}
}

// TestParseEntryProblem checks that a well-formed entry whose statement is
// not valid is an entry, with the statement's problem: the log keeps it,
// and the fold marks it rejected.
func TestParseEntryProblem(t *testing.T) {
	valid := validStatements(t)
	s := with(t, valid[truce.TypeIncident], "body.location.lat", 95)
	env, err := truce.NewEnvelope(&truce.Statement{})
	if err != nil {
		t.Fatal(err)
	}
	env.Payload = marshal(t, s)
	env.Sign(vectorKey("mon-1"))
	b, err := truce.MarshalEntry(time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC), env)
	if err != nil {
		t.Fatal(err)
	}
	e, err := truce.ParseEntry(b)
	if err != nil {
		t.Fatalf("ParseEntry: %v, want an entry with a Problem", err)
	}
	var fe *truce.FieldError
	if !errors.As(e.Problem, &fe) || fe.Field != "body.location.lat" {
		t.Errorf("Problem = %v, want a FieldError about body.location.lat", e.Problem)
	}
	if e.Statement != nil || e.Body != nil {
		t.Errorf("Statement, Body = %v, %v; want nil with a Problem", e.Statement, e.Body)
	}
	if ok, err := e.Envelope.Verify(vectorPub("mon-1")); !ok || err != nil {
		t.Errorf("Verify = %v, %v; want true, nil", ok, err)
	}
}

func TestParseEntryErrors(t *testing.T) {
	good := string(readVector(t, "incident/entry.json"))
	envJSON := string(readVector(t, "incident/envelope.json"))
	withReceived := func(r string) string {
		return `{"received":"` + r + `","envelope":` + envJSON + `}`
	}
	tests := []struct {
		name   string
		data   string
		is     error
		phrase string
	}{
		{"empty", "", truce.ErrMalformed, "entry"},
		{"not JSON", "entry", truce.ErrMalformed, "not valid JSON"},
		{"truncated", good[:len(good)-1], truce.ErrMalformed, "entry"},
		{"trailing data", good + "{}", truce.ErrMalformed, "trailing data"},
		{"a list", "[]", truce.ErrMalformed, "must be an object"},
		{"the envelope alone", envJSON, truce.ErrMalformed, `unknown field "payload"`},
		{"unknown field", strings.Replace(good, `{"received"`, `{"index":3,"received"`, 1), truce.ErrMalformed, `unknown field "index"`},
		{"received missing", `{"envelope":` + envJSON + `}`, truce.ErrMalformed, `received "" is not UTC with three fractional digits`},
		{"received a number", `{"received":1762509603123,"envelope":` + envJSON + `}`, truce.ErrMalformed, "received must be a string"},
		{"received without milliseconds", withReceived("2025-11-07T10:00:03Z"), truce.ErrMalformed, "three fractional digits"},
		{"received with two digits", withReceived("2025-11-07T10:00:03.12Z"), truce.ErrMalformed, "three fractional digits"},
		{"received with four digits", withReceived("2025-11-07T10:00:03.1234Z"), truce.ErrMalformed, "three fractional digits"},
		{"received with microseconds", withReceived("2025-11-07T10:00:03.123456Z"), truce.ErrMalformed, "three fractional digits"},
		{"received with an offset", withReceived("2025-11-07T10:00:03.123+00:00"), truce.ErrMalformed, "not UTC"},
		{"received in Kabul", withReceived("2025-11-07T14:30:03.123+04:30"), truce.ErrMalformed, "not UTC"},
		{"received with a small z", withReceived("2025-11-07T10:00:03.123z"), truce.ErrMalformed, "not UTC"},
		{"received a date", withReceived("2025-11-07"), truce.ErrMalformed, "three fractional digits"},
		{"received on no day", withReceived("2025-11-31T10:00:03.123Z"), truce.ErrMalformed, "received"},
		{"received at hour 24", withReceived("2025-11-07T24:00:00.000Z"), truce.ErrMalformed, "received"},
		{"envelope missing", `{"received":"2025-11-07T10:00:03.123Z"}`, truce.ErrMalformed, "envelope"},
		{"envelope null", `{"received":"2025-11-07T10:00:03.123Z","envelope":null}`, truce.ErrMalformed, "envelope"},
		{"envelope a string", `{"received":"2025-11-07T10:00:03.123Z","envelope":"e30="}`, truce.ErrMalformed, "envelope"},
		{"bad payloadType", strings.Replace(good, truce.PayloadType, "application/json", 1), truce.ErrMalformed, `payloadType is "application/json"`},
		{"bad keyid", strings.Replace(good, `"keyid":"`, `"keyid":"X`, 1), truce.ErrMalformed, "keyid"},
		{"no signatures", good[:strings.Index(good, `"signatures":`)] + `"signatures":[]}}`, truce.ErrSignature, "no signatures"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := truce.ParseEntry([]byte(tt.data))
			if err == nil {
				t.Fatalf("ParseEntry(%.100s) = %+v, want an error", tt.data, e)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("ParseEntry: %v, want an error matching %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.phrase) {
				t.Errorf("error %q does not say %q", err, tt.phrase)
			}
		})
	}
}

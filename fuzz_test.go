package truce_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/truce-mechanism/truce"
)

// FuzzParseEntry checks that ParseEntry never panics, and that whatever it
// accepts, MarshalEntry writes back as an entry with the same receive time,
// payload and signatures, in the one form MarshalEntry then keeps.
func FuzzParseEntry(f *testing.F) {
	for _, v := range vectors() {
		entry := readVector(f, v.name+"/entry.json")
		f.Add(entry)
		// Forms that ParseEntry takes although MarshalEntry never writes
		// them, to start the fuzzer near the edges.
		f.Add(bytes.Replace(entry, []byte(`"received"`), []byte(`"Received"`), 1))
		f.Add(bytes.Replace(entry, []byte(`.`), []byte(`,`), 1))
		f.Add(bytes.ReplaceAll(entry, []byte(`","`), []byte("\",\n \"")))
		f.Add(bytes.ReplaceAll(bytes.ReplaceAll(entry, []byte("+"), []byte("-")), []byte("/"), []byte("_")))
	}
	f.Add([]byte(`{"received":"2025-11-07T10:00:03.123Z","envelope":{"payload":"e30=","payloadType":"application/vnd.truce.statement+json","signatures":[{"keyid":"` + strings.Repeat("0", 64) + `","sig":"` + strings.Repeat("A", 86) + `=="}]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := truce.ParseEntry(data)
		if err != nil {
			if !errors.Is(err, truce.ErrMalformed) && !errors.Is(err, truce.ErrSignature) {
				t.Errorf("ParseEntry: %v matches neither ErrMalformed nor ErrSignature", err)
			}
			return
		}
		if (e.Statement == nil) != (e.Problem != nil) || (e.Body == nil) != (e.Problem != nil) {
			t.Errorf("ParseEntry gives Statement %v, Body %v, Problem %v; want a statement and body or a problem", e.Statement, e.Body, e.Problem)
		}
		again, err := truce.MarshalEntry(e.Received, e.Envelope)
		if err != nil {
			var se *truce.SizeError
			if errors.As(err, &se) && len(data) > truce.MaxEntrySize {
				return // ParseEntry does not limit an entry's size
			}
			t.Fatalf("MarshalEntry of an entry ParseEntry accepted: %v", err)
		}
		e2, err := truce.ParseEntry(again)
		if err != nil {
			t.Fatalf("ParseEntry(MarshalEntry(ParseEntry(%q))): %v", data, err)
		}
		if !e2.Received.Equal(e.Received) {
			t.Errorf("received %v became %v", e.Received, e2.Received)
		}
		if !sameEnvelope(e2.Envelope, e.Envelope) {
			t.Errorf("envelope %+v became %+v", e.Envelope, e2.Envelope)
		}
		if (e.Problem == nil) != (e2.Problem == nil) {
			t.Errorf("problem %v became %v", e.Problem, e2.Problem)
		}
		third, err := truce.MarshalEntry(e2.Received, e2.Envelope)
		if err != nil || !bytes.Equal(third, again) {
			t.Errorf("MarshalEntry is not stable: %s, then %s (%v)", again, third, err)
		}
	})
}

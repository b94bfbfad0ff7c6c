package truce_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
)

func benchEntry(b *testing.B) []byte {
	seed := sha256.Sum256([]byte("bench"))
	key := ed25519.NewKeyFromSeed(seed[:])
	lat, lon, zero := 34.1, 71.1, 0
	body := &truce.IncidentReport{
		OccurredAt: "2025-11-06", TimePrecision: 1,
		Location:  truce.Location{Lat: &lat, Lon: &lon, GeoPrecision: 1, Place: "Torkham", Admin1: "Nangarhar", Country: "Afghanistan"},
		EventType: "Battles", SubEventType: "Armed clash", AllegedOrigin: "PK", Against: "AF",
		Clauses: []string{"C1"}, Fatalities: &zero, Injured: &zero, Narrative: "Exchange of fire near the crossing.", Sources: []string{"monitor team 3"},
	}
	st := &truce.Statement{Type: truce.TypeIncident, ID: "0193b5c2-7d3e-7c55-9a1d-5e8f3b2a1c00", Mechanism: "truce.example/bench", Author: "af-1", Time: time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC)}
	env, err := truce.SignStatement(st, body, key)
	if err != nil {
		b.Fatal(err)
	}
	e, err := truce.MarshalEntry(time.Now(), env)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkParseEntry measures decoding and checking one incident entry,
// without verifying its signature.
func BenchmarkParseEntry(b *testing.B) {
	e := benchEntry(b)
	b.SetBytes(int64(len(e)))
	for b.Loop() {
		if _, err := truce.ParseEntry(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is ed25519.Verify alone, the floor of every check.
func BenchmarkVerify(b *testing.B) {
	e, _ := truce.ParseEntry(benchEntry(b))
	seed := sha256.Sum256([]byte("bench"))
	pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
	msg := truce.PAE(e.Envelope.PayloadType, e.Envelope.Payload)
	for b.Loop() {
		ed25519.Verify(pub, msg, e.Envelope.Signatures[0].Sig)
	}
}

package truce

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecodeTyped checks that the one-pass decoding takes exactly what the
// two-step decoding takes, and reads it the same, so that the fast path
// never changes what a statement means.
func FuzzDecodeTyped(f *testing.F) {
	files, _ := filepath.Glob("testdata/vectors/*/payload.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"reply","id":"x","mechanism":"m","author":"a","time":"2025-11-07T10:00:00Z","body":{"subject":"s","text":"t","contests":["origin"]}}`))
	f.Add([]byte(`{"type":"reply","body":[}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		fs, fb, fok := decodeTyped(payload)
		us, ub, uerr := decodeUntyped(payload)
		if fok && uerr != nil {
			t.Fatalf("decodeTyped takes %q, decodeUntyped refuses it: %v", payload, uerr)
		}
		if fok && (!reflect.DeepEqual(fs, us) || !reflect.DeepEqual(fb, ub)) {
			t.Fatalf("the two decodings read %q differently:\n%+v %+v\n%+v %+v", payload, fs, fb, us, ub)
		}
	})
}

// FuzzCanonicalEntry checks that the decoder-free reading of an entry
// takes only entries the general path takes, and reads them the same.
func FuzzCanonicalEntry(f *testing.F) {
	files, _ := filepath.Glob("testdata/vectors/*/entry.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := canonicalEntry(data)
		if !ok {
			return
		}
		general, err := generalEntry(data)
		if err != nil {
			t.Fatalf("canonicalEntry takes %q, generalEntry refuses it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, general) {
			t.Fatalf("the two readings of %q differ:\n%+v\n%+v", data, fast, general)
		}
	})
}

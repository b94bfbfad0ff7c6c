package pubkey

import (
	"crypto/ed25519"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// points are encodings that sit on the edge cases of Ed25519
// verification: the eight small-order points, non-canonical encodings
// (y at or above the field's prime), and bytes that are not a point.
var points = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p+1: the identity, non-canonical
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // the same, sign bit set
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p: order 4, non-canonical
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // the same, sign bit set
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = 2^255-1, non-canonical
	"0200000000000000000000000000000000000000000000000000000000000000", // not on the curve
}

// scalars are values of S on the edge of canonical: 0, 1, L-1, L, L+1
// (L the group order) and 2^253.
var scalars = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
	"edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
	"eed3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
	"0000000000000000000000000000000000000000000000000000000000000020",
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// check compares Verify with ed25519.Verify and counts the signatures
// that verify, so that a test can see it exercised both answers.
func check(t *testing.T, pub, msg, sig []byte, valid *int) {
	t.Helper()
	want := ed25519.Verify(pub, msg, sig)
	if got := New(pub).Verify(msg, sig); got != want {
		t.Fatalf("Verify(pub %x, msg %x, sig %x) = %v, crypto/ed25519 says %v", pub, msg, sig, got, want)
	}
	if want {
		*valid++
	}
}

func TestSameAsStandardLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	valid := 0

	// Every edge-case key with every edge-case R and S, over messages
	// whose hashes fall in every class modulo the cofactor.
	for _, a := range points {
		for _, r := range points {
			for _, s := range scalars {
				sig := append(unhex(t, r), unhex(t, s)...)
				for m := range 16 {
					check(t, unhex(t, a), []byte{byte(m)}, sig, &valid)
				}
			}
		}
	}
	if valid == 0 {
		t.Fatal("no edge-case signature verified; the identity key with R = identity and S = 0 should")
	}

	// Real signatures, and each of them with one byte of key, message or
	// signature changed.
	for range 200 {
		seed := make([]byte, ed25519.SeedSize)
		for i := range seed {
			seed[i] = byte(rng.Uint32())
		}
		priv := ed25519.NewKeyFromSeed(seed)
		pub := priv.Public().(ed25519.PublicKey)
		msg := make([]byte, 1+rng.IntN(100))
		for i := range msg {
			msg[i] = byte(rng.Uint32())
		}
		sig := ed25519.Sign(priv, msg)
		before := valid
		check(t, pub, msg, sig, &valid)
		if valid != before+1 {
			t.Fatal("a fresh signature did not verify")
		}
		for _, b := range [][]byte{pub, msg, sig} {
			i, x := rng.IntN(len(b)), byte(1+rng.IntN(255))
			b[i] ^= x
			check(t, pub, msg, sig, &valid)
			b[i] ^= x
		}
	}
}

func TestBadSizes(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	sig := ed25519.Sign(priv, []byte("m"))
	for _, tc := range []struct {
		name     string
		pub, sig []byte
	}{
		{"short key", pub[:31], sig},
		{"long key", append(pub[:32:32], 0), sig},
		{"short signature", pub, sig[:63]},
		{"long signature", pub, append(sig[:64:64], 0)},
		{"no key", nil, sig},
	} {
		if New(tc.pub).Verify([]byte("m"), tc.sig) {
			t.Errorf("%s: verified", tc.name)
		}
	}
	if !New(pub).Verify([]byte("m"), sig) {
		t.Error("the unaltered signature does not verify")
	}
}

func BenchmarkVerify(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	msg := make([]byte, 900)
	sig := ed25519.Sign(priv, msg)
	k := New(priv.Public().(ed25519.PublicKey))
	b.Run("pubkey", func(b *testing.B) {
		for b.Loop() {
			if !k.Verify(msg, sig) {
				b.Fatal("does not verify")
			}
		}
	})
	b.Run("crypto/ed25519", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(k.Public(), msg, sig) {
				b.Fatal("does not verify")
			}
		}
	})
}

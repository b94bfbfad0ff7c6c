// Package pubkey holds Ed25519 public keys prepared for verifying many
// signatures.
//
// A mechanism has a handful of member keys and verifies every statement's
// signatures by them, on the server at POST and in every audit. Expanding a
// key once into a table of its multiples makes each verification about a
// quarter cheaper than crypto/ed25519's, which has to decode the key and
// compute those multiples anew each time.
//
// The verification equation and every edge case are crypto/ed25519's
// (cofactorless, non-canonical A accepted, non-canonical R and S refused,
// small-order points accepted), so a signature verifies here exactly when
// it verifies with ed25519.Verify: every auditor, whatever its library,
// reaches the same verdicts. TestSameAsStandardLibrary holds the two
// together on the edge cases.
package pubkey

import (
	"crypto/ed25519"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// stdlib selects crypto/ed25519's verification rules.
var stdlib = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// Key is an Ed25519 public key expanded for verification. Its methods are
// safe for concurrent use.
type Key struct {
	pub ed25519.PublicKey
	exp *voi.ExpandedPublicKey // nil when pub is not a point: nothing verifies
}

// New expands pub. A pub that is not 32 bytes or not the encoding of a
// point gives a Key by which no signature verifies, as with ed25519.Verify.
func New(pub ed25519.PublicKey) *Key {
	k := &Key{pub: pub}
	if len(pub) == ed25519.PublicKeySize {
		if exp, err := voi.NewExpandedPublicKey(voi.PublicKey(pub)); err == nil {
			k.exp = exp
		}
	}
	return k
}

// Public returns the key as crypto/ed25519 holds it.
func (k *Key) Public() ed25519.PublicKey { return k.pub }

// Verify reports whether sig is a valid Ed25519 signature of msg by k,
// with the same answer as ed25519.Verify(k.Public(), msg, sig).
func (k *Key) Verify(msg, sig []byte) bool {
	if k.exp == nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	return voi.VerifyExpandedWithOptions(k.exp, msg, sig, stdlib)
}

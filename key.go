package truce

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
)

// KeyID is the keyid of a public key in DSSE signatures: the lowercase hex
// SHA-256 of the 32 raw key bytes.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:])
}

// GenerateKey makes a new member key from rand, or crypto/rand when nil.
func GenerateKey(rnd io.Reader) (ed25519.PrivateKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	_, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, fmt.Errorf("cannot generate key: %w", err)
	}
	return priv, nil
}

// MarshalPrivateKey encodes a member's private key as a PEM PKCS#8 block,
// the form `openssl genpkey -algorithm ed25519` writes and WebCrypto imports.
func MarshalPrivateKey(key ed25519.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		// Only unsupported key types fail, and this is always Ed25519.
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// ParsePrivateKey decodes a PEM PKCS#8 Ed25519 private key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, malformed("key file is not PEM (it should begin with -----BEGIN PRIVATE KEY-----)")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, malformed("key file holds a %q block, want a PKCS#8 \"PRIVATE KEY\"", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, malformed("key file is not PKCS#8: %v", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, malformed("key file holds %s key, want an Ed25519 key (make one with truce keygen)", keyKind(k))
	}
	return priv, nil
}

// EncodePublicKey gives a public key as a charter lists it: base64 of the
// raw 32 bytes.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey decodes a public key as a charter lists it.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, malformed("public key %q is not base64: %v", short(s), err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, malformed("public key %q is %d bytes, an Ed25519 key is %d", short(s), len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

func keyKind(k any) string {
	switch k.(type) {
	case *rsa.PrivateKey:
		return "an RSA"
	case *ecdsa.PrivateKey:
		return "an ECDSA"
	case *ecdh.PrivateKey:
		return "an X25519 or ECDH"
	}
	return "another kind of"
}

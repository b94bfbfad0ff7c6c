package truce_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/truce-mechanism/truce"
)

func TestGenerateKey(t *testing.T) {
	key, err := truce.GenerateKey(nil)
	if err != nil {
		t.Fatalf("GenerateKey(nil): %v", err)
	}
	other, err := truce.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if key.Equal(other) {
		t.Errorf("two keys from crypto/rand are equal")
	}
	pemBytes := truce.MarshalPrivateKey(key)
	if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN PRIVATE KEY-----\n")) || !bytes.HasSuffix(pemBytes, []byte("-----END PRIVATE KEY-----\n")) {
		t.Errorf("MarshalPrivateKey = %q, want one PRIVATE KEY block", pemBytes)
	}
	got, err := truce.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatalf("ParsePrivateKey(MarshalPrivateKey(key)): %v", err)
	}
	if !got.Equal(key) {
		t.Errorf("ParsePrivateKey(MarshalPrivateKey(key)) is another key")
	}
}

func TestGenerateKeyFromReader(t *testing.T) {
	seed := sha256.Sum256([]byte("truce vector af-1"))
	key, err := truce.GenerateKey(bytes.NewReader(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(vectorKey("af-1")) {
		t.Errorf("GenerateKey(seed) is not NewKeyFromSeed(seed)")
	}
	_, err = truce.GenerateKey(bytes.NewReader(seed[:5]))
	if err == nil || !strings.Contains(err.Error(), "cannot generate key") {
		t.Errorf("GenerateKey(5 bytes) = %v, want a cannot generate key error", err)
	}
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParsePrivateKeyErrors(t *testing.T) {
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	x25519Key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(vectorPub("af-1"))
	if err != nil {
		t.Fatal(err)
	}
	good := readVector(t, "keys/af-1.pem")
	tests := []struct {
		name   string
		data   []byte
		phrase string
	}{
		{"empty", nil, "not PEM"},
		{"garbage", []byte("not a key\n"), "not PEM (it should begin with -----BEGIN PRIVATE KEY-----)"},
		{"raw seed", vectorKey("af-1").Seed(), "not PEM"},
		{"base64 public key", []byte(truce.EncodePublicKey(vectorPub("af-1"))), "not PEM"},
		{"truncated PEM", good[:len(good)-10], "not PEM"},
		{"public key", pemBlock("PUBLIC KEY", pubDER), `holds a "PUBLIC KEY" block`},
		{"RSA PKCS#8", pemBlock("PRIVATE KEY", pkcs8(rsaKey)), "want an Ed25519 key"},
		{"RSA PKCS#1", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), `"RSA PRIVATE KEY" block, want a PKCS#8 "PRIVATE KEY"`},
		{"EC PKCS#8", pemBlock("PRIVATE KEY", pkcs8(ecKey)), "want an Ed25519 key"},
		{"EC SEC1", pemBlock("EC PRIVATE KEY", ecDER), `"EC PRIVATE KEY" block`},
		{"X25519 PKCS#8", pemBlock("PRIVATE KEY", pkcs8(x25519Key)), "want an Ed25519 key"},
		{"encrypted", pemBlock("ENCRYPTED PRIVATE KEY", []byte{0x30, 0}), `"ENCRYPTED PRIVATE KEY" block`},
		{"OpenSSH", pemBlock("OPENSSH PRIVATE KEY", []byte("openssh-key-v1\x00")), `"OPENSSH PRIVATE KEY" block`},
		{"garbage DER", pemBlock("PRIVATE KEY", []byte("not DER")), "not PKCS#8"},
		{"public key DER in a private block", pemBlock("PRIVATE KEY", pubDER), "not PKCS#8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := truce.ParsePrivateKey(tt.data)
			if err == nil {
				t.Fatalf("ParsePrivateKey = %x, want an error", key)
			}
			if !errors.Is(err, truce.ErrMalformed) {
				t.Errorf("ParsePrivateKey: %v does not match ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.phrase) {
				t.Errorf("error %q does not say %q", err, tt.phrase)
			}
		})
	}
}

func TestParsePublicKey(t *testing.T) {
	pub := vectorPub("af-1")
	enc := truce.EncodePublicKey(pub)
	if want := strings.TrimSuffix(string(readVector(t, "keys/af-1.pub")), "\n"); enc != want {
		t.Errorf("EncodePublicKey = %q, want %q", enc, want)
	}
	got, err := truce.ParsePublicKey(enc)
	if err != nil {
		t.Fatalf("ParsePublicKey(%q): %v", enc, err)
	}
	if !got.Equal(pub) {
		t.Errorf("ParsePublicKey(%q) = %x, want %x", enc, got, []byte(pub))
	}

	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name   string
		s      string
		phrase string
	}{
		{"empty", "", "is 0 bytes, an Ed25519 key is 32"},
		{"31 bytes", b64(pub[:31]), "is 31 bytes"},
		{"33 bytes", b64(append(bytes.Clone(pub), 0)), "is 33 bytes"},
		{"private key", b64(vectorKey("af-1")), "is 64 bytes"},
		{"hex", hex.EncodeToString(pub), "is 48 bytes"},
		{"not base64", "not a key!", "not base64"},
		{"unpadded", strings.TrimRight(enc, "="), "not base64"},
		{"URL-safe alphabet", base64.URLEncoding.EncodeToString(pub), "not base64"},
		{"space inside", enc[:10] + " " + enc[10:], "not base64"},
		{"long garbage", strings.Repeat("!", 100), "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := truce.ParsePublicKey(tt.s)
			if err == nil {
				t.Fatalf("ParsePublicKey(%q) = %x, want an error", tt.s, key)
			}
			if !errors.Is(err, truce.ErrMalformed) {
				t.Errorf("ParsePublicKey: %v does not match ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.phrase) {
				t.Errorf("error %q does not say %q", err, tt.phrase)
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	tests := []struct {
		name string
		pub  ed25519.PublicKey
		want string
	}{
		// SHA-256 of 32 zero bytes.
		{"zero", make(ed25519.PublicKey, 32), "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"},
		{"af-1", vectorPub("af-1"), "345c3c87d0ada8dc22e43bdf402ebd4d051c0d4e3fed854124728533b13f1d53"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := truce.KeyID(tt.pub); got != tt.want {
				t.Errorf("KeyID(%x) = %s, want %s", []byte(tt.pub), got, tt.want)
			}
			h := sha256.Sum256(tt.pub)
			if got := truce.KeyID(tt.pub); got != hex.EncodeToString(h[:]) {
				t.Errorf("KeyID(%x) = %s, want hex SHA-256 %x", []byte(tt.pub), got, h)
			}
		})
	}
}

package witness

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/truce-mechanism/truce/internal/syncfile"
)

const (
	keyFile  = "witness.key"
	logsFile = "logs"
)

var (
	// ErrNoKey is returned by ReadKey for a folder without a witness key.
	ErrNoKey = errors.New("no witness key in the folder")
	// ErrKeyExists is returned by CreateKey for a folder that has one.
	ErrKeyExists = errors.New("the folder already has a witness key")
)

// NewSigner returns the cosigner for a witness's signed-note private key:
// it makes C2SP cosignature/v1 signatures, timestamped by the system clock,
// under a key hash computed with the cosignature type byte 0x04, which
// differs from the hash in skey.
//
// SPEC: https://c2sp.org/tlog-cosignature
func NewSigner(skey string) (note.Signer, error) {
	s, err := f_note.NewSignerForCosignatureV1(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("cannot read witness key: %w", err)
	}
	return s, nil
}

// VerifierKey returns the cosignature verifier key (type 0x04) for a
// witness's signed-note Ed25519 private key: what a charter lists as the
// witness's key, and what Tessera's NewWitness takes.
func VerifierKey(skey string) (string, error) {
	// SPEC: https://c2sp.org/signed-note: PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return "", fmt.Errorf("cannot read witness key: %w", err)
	}
	// The name has no +; the base64 key may.
	parts := strings.SplitN(skey, "+", 5)
	key, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return "", errors.New("cannot read witness key: not an Ed25519 signed-note key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return "", fmt.Errorf("cannot make witness verifier key: %w", err)
	}
	cosig, err := f_note.VKeyToCosignatureV1(vkey)
	if err != nil {
		return "", fmt.Errorf("cannot make witness verifier key: %w", err)
	}
	return cosig, nil
}

// GenerateKey makes a new witness key named name with crypto/rand: a
// standard signed-note Ed25519 private key for NewSigner and VerifierKey.
// The name should be a schema-less URL, such as witness.example/af.
func GenerateKey(name string) (string, error) {
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", fmt.Errorf("cannot generate witness key: %w", err)
	}
	return skey, nil
}

// CreateKey makes a new witness key named name in the folder dir, creating
// it if absent, as DATA/witness.key with mode 0600, and returns it. It
// never replaces a key: it fails with ErrKeyExists.
func CreateKey(dir, name string) (string, error) {
	skey, err := GenerateKey(name)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create witness folder: %w", err)
	}
	name = filepath.Join(dir, keyFile)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return "", ErrKeyExists
	}
	if err != nil {
		return "", fmt.Errorf("cannot write witness key: %w", err)
	}
	_, err = f.WriteString(skey + "\n")
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = syncfile.SyncDir(dir)
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("cannot write witness key: %w", err)
	}
	return skey, nil
}

// ReadKey reads the witness key in the folder dir; ErrNoKey if none.
func ReadKey(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, keyFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", ErrNoKey
	}
	if err != nil {
		return "", fmt.Errorf("cannot read witness key: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadLogKeys reads the log verifier keys the folder dir remembers, one a
// line; none if it has no logs file. Blank lines and lines starting with #
// are ignored.
func ReadLogKeys(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, logsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the witness's logs: %w", err)
	}
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keys = append(keys, line)
	}
	return keys, sc.Err()
}

// WriteLogKeys durably replaces the log verifier keys the folder dir
// remembers. The caller must hold the folder, as an open Witness does.
func WriteLogKeys(dir string, keys []string) error {
	var b strings.Builder
	b.WriteString("# The logs this witness follows: one log verifier key a line.\n")
	for _, k := range keys {
		b.WriteString(k + "\n")
	}
	if err := syncfile.Replace(filepath.Join(dir, logsFile), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("cannot save the witness's logs: %w", err)
	}
	return nil
}

// LogsFromKeys makes Config.Logs from log verifier keys. A log's origin is
// its key's name, as C2SP tlog-checkpoint recommends and truce init does.
// Repeating a key is harmless; two keys for one origin are an error.
func LogsFromKeys(keys []string) (map[string]string, error) {
	logs := make(map[string]string, len(keys))
	for _, k := range keys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("cannot read log key %q: %w", k, err)
		}
		if have, ok := logs[v.Name()]; ok && have != k {
			return nil, fmt.Errorf("two keys for the log %s: %s and %s", v.Name(), have, k)
		}
		logs[v.Name()] = k
	}
	return logs, nil
}

// SortedKeys returns the verifier keys of logs, by origin.
func SortedKeys(logs map[string]string) []string {
	origins := make([]string, 0, len(logs))
	for o := range logs {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	keys := make([]string, len(origins))
	for i, o := range origins {
		keys[i] = logs[o]
	}
	return keys
}

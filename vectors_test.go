package truce_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
)

var update = flag.Bool("update", false, "rewrite the test vectors in testdata/vectors")

// vectorDir holds the fixed test vectors: keys, payloads, PAE, envelopes
// and log entries that any implementation of the wire format can check
// itself against. TestVectors keeps them in sync with the code.
const vectorDir = "testdata/vectors"

// vectorKey is the fixed key of a vector member: its Ed25519 seed is
// SHA-256("truce vector <name>").
func vectorKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("truce vector " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func vectorPub(name string) ed25519.PublicKey {
	return vectorKey(name).Public().(ed25519.PublicKey)
}

// vectorKeyNames are the members of the vectors' mechanism.
var vectorKeyNames = []string{"af-1", "pk-1", "m-tr-1", "mon-1"}

// vector is one signed statement of the test vectors.
type vector struct {
	// name is the vector's folder under testdata/vectors.
	name      string
	statement truce.Statement
	body      any
	// signers are key names; the first is the author.
	signers  []string
	received time.Time
}

const (
	vectorMechanism  = "truce.example/istanbul-2025"
	vectorCharterID  = "0193b5c2-7d3e-7c55-9a1d-5e8f3b2a1c00"
	vectorIncidentID = "0193b5c2-8a00-7c55-9a1d-5e8f3b2a1c01"
	vectorAssessID   = "0193c0e1-1200-7c55-9a1d-5e8f3b2a1c02"
)

func ptr[T any](v T) *T { return &v }

func vectors() []vector {
	pub := func(name string) []string { return []string{truce.EncodePublicKey(vectorPub(name))} }
	return []vector{
		{
			name: "charter",
			statement: truce.Statement{
				Type:      truce.TypeCharter,
				ID:        vectorCharterID,
				Mechanism: vectorMechanism,
				Author:    "m-tr-1",
				Time:      time.Date(2025, 11, 7, 9, 0, 0, 0, time.UTC),
			},
			body: &truce.Charter{
				Title: "Istanbul monitoring and verification mechanism",
				Parties: []truce.Party{
					{ID: "AF", Name: "Afghanistan"},
					{ID: "PK", Name: "Pakistan"},
				},
				Members: []truce.Member{
					{ID: "af-1", Name: "Liaison officer, Afghanistan", Role: truce.RoleParty, Party: "AF", Keys: pub("af-1")},
					{ID: "pk-1", Name: "Liaison officer, Pakistan", Role: truce.RoleParty, Party: "PK", Keys: pub("pk-1")},
					{ID: "m-tr-1", Name: "Mediator, Türkiye", Role: truce.RoleMediator, Keys: pub("m-tr-1")},
					{ID: "mon-1", Name: "Field monitor 1", Role: truce.RoleMonitor, Keys: pub("mon-1")},
				},
				Clauses: []truce.Clause{
					{ID: "c1", Text: "Neither party attacks the other, nor lets its territory be used for attacks on the other.", Consequence: "a finding of violation, reported to the guarantors"},
					{ID: "c2", Text: "Each party gives the mechanism's monitors access to the border districts."},
				},
				Rules: truce.Rules{
					ReplyWindow: "72h",
					Verification: truce.Verification{
						Roles:     []string{truce.RoleMediator},
						Quorum:    1,
						Agreement: truce.AgreementUnanimous,
					},
				},
				Languages: []string{"en", "ps", "ur", "tr"},
			},
			signers:  []string{"m-tr-1", "af-1", "pk-1"},
			received: time.Date(2025, 11, 7, 9, 0, 1, 250e6, time.UTC),
		},
		{
			name: "incident",
			statement: truce.Statement{
				Type:      truce.TypeIncident,
				ID:        vectorIncidentID,
				Mechanism: vectorMechanism,
				Author:    "mon-1",
				Time:      time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC),
			},
			body: &truce.IncidentReport{
				OccurredAt:    "2025-11-07T06:30:00Z",
				TimePrecision: 1,
				Location: truce.Location{
					Lat:          ptr(31.0051),
					Lon:          ptr(66.3962),
					GeoPrecision: 2,
					Place:        "Spin Boldak",
					Admin1:       "Kandahar",
					Admin2:       "Spin Boldak",
					Country:      "Afghanistan",
				},
				EventType:     "Explosions/Remote violence",
				SubEventType:  "Shelling/artillery/missile attack",
				AllegedOrigin: "PK",
				Against:       "AF",
				Clauses:       []string{"c1"},
				Fatalities:    ptr(2),
				Injured:       ptr(5),
				// The & and the en dash show how the payload carries
				// characters that JSON encoders treat differently.
				Narrative: "Shells & mortar rounds landed near the Wesh–Chaman crossing at 06:30 local time.",
				Sources:   []string{"mon-1 field report 2025-11-07/1"},
			},
			signers:  []string{"mon-1"},
			received: time.Date(2025, 11, 7, 10, 0, 3, 123e6, time.UTC),
		},
		{
			name: "assessment",
			statement: truce.Statement{
				Type:      truce.TypeAssessment,
				ID:        vectorAssessID,
				Mechanism: vectorMechanism,
				Author:    "m-tr-1",
				Time:      time.Date(2025, 11, 10, 12, 0, 0, 0, time.UTC),
			},
			body: &truce.Assessment{
				Subject:   vectorIncidentID,
				Question:  truce.QuestionViolation,
				Answer:    truce.AnswerYes,
				Severity:  truce.SeveritySerious,
				Rationale: "Crater analysis and two independent witnesses place the firing point across the border.",
			},
			signers:  []string{"m-tr-1"},
			received: time.Date(2025, 11, 10, 12, 0, 0, 7e6, time.UTC),
		},
	}
}

// sign makes the vector's envelope: signed by the author, then co-signed
// by the other signers in order.
func (v vector) sign(t testing.TB) *truce.Envelope {
	t.Helper()
	s := v.statement
	env, err := truce.SignStatement(&s, v.body, vectorKey(v.signers[0]))
	if err != nil {
		t.Fatalf("SignStatement(%s): %v", v.name, err)
	}
	for _, name := range v.signers[1:] {
		env.Sign(vectorKey(name))
	}
	return env
}

// entry is the vector's log entry bytes.
func (v vector) entry(t testing.TB) []byte {
	t.Helper()
	b, err := truce.MarshalEntry(v.received, v.sign(t))
	if err != nil {
		t.Fatalf("MarshalEntry(%s): %v", v.name, err)
	}
	return b
}

// vectorFiles renders every vector file, by path relative to vectorDir.
func vectorFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range vectorKeyNames {
		key := vectorKey(name)
		pub := vectorPub(name)
		files["keys/"+name+".pem"] = truce.MarshalPrivateKey(key)
		files["keys/"+name+".pub"] = []byte(truce.EncodePublicKey(pub) + "\n")
		files["keys/"+name+".keyid"] = []byte(truce.KeyID(pub) + "\n")
	}
	for _, v := range vectors() {
		env := v.sign(t)
		envJSON, err := env.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON(%s): %v", v.name, err)
		}
		files[v.name+"/payload.json"] = env.Payload
		files[v.name+"/pae.hex"] = []byte(hex.EncodeToString(truce.PAE(env.PayloadType, env.Payload)) + "\n")
		files[v.name+"/envelope.json"] = envJSON
		files[v.name+"/entry.json"] = v.entry(t)
	}
	return files
}

func TestVectors(t *testing.T) {
	files := vectorFiles(t)
	if *update {
		for path, b := range files {
			full := filepath.Join(vectorDir, filepath.FromSlash(path))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(vectorDir, filepath.FromSlash(p)))
			if err != nil {
				t.Fatalf("%v (run go test -run TestVectors -update to write it)", err)
			}
			if want := files[p]; !bytes.Equal(got, want) {
				t.Errorf("%s differs from what the code makes now:\n got: %q\nwant: %q\n(if the change is intended, run go test -run TestVectors -update)", p, got, want)
			}
		})
	}
	// A file the code no longer makes is a stale vector.
	err := filepath.WalkDir(vectorDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(vectorDir, path)
		rel = filepath.ToSlash(rel)
		if _, ok := files[rel]; !ok && rel != "README.md" {
			t.Errorf("stale vector file %s: the code does not make it", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readVector(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectorsIndependently checks the vector files with the standard
// library alone, so that a bug shared by the package's encoder and decoder
// cannot hide in them.
func TestVectorsIndependently(t *testing.T) {
	for _, name := range vectorKeyNames {
		t.Run("keys/"+name, func(t *testing.T) {
			block, rest := pem.Decode(readVector(t, "keys/"+name+".pem"))
			if block == nil || len(rest) != 0 {
				t.Fatalf("key file is not exactly one PEM block")
			}
			if block.Type != "PRIVATE KEY" {
				t.Errorf("PEM type is %q, want PRIVATE KEY", block.Type)
			}
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				t.Fatalf("crypto/x509 cannot parse the key: %v", err)
			}
			priv, ok := k.(ed25519.PrivateKey)
			if !ok {
				t.Fatalf("key is a %T, want ed25519.PrivateKey", k)
			}
			seed := sha256.Sum256([]byte("truce vector " + name))
			if !bytes.Equal(priv.Seed(), seed[:]) {
				t.Errorf("seed is %x, want SHA-256(%q) = %x", priv.Seed(), "truce vector "+name, seed)
			}
			pubB64 := strings.TrimSuffix(string(readVector(t, "keys/"+name+".pub")), "\n")
			pub, err := base64.StdEncoding.DecodeString(pubB64)
			if err != nil {
				t.Fatal(err)
			}
			if want := priv.Public().(ed25519.PublicKey); !bytes.Equal(pub, want) {
				t.Errorf("public key file is %x, want %x", pub, []byte(want))
			}
			h := sha256.Sum256(pub)
			if got, want := string(readVector(t, "keys/"+name+".keyid")), hex.EncodeToString(h[:])+"\n"; got != want {
				t.Errorf("keyid file is %q, want %q", got, want)
			}
		})
	}
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			payload := readVector(t, v.name+"/payload.json")
			// DSSE v1 PAE, written out by hand from the DSSE spec.
			pae := []byte(fmt.Sprintf("DSSEv1 %d %s %d %s", len(truce.PayloadType), truce.PayloadType, len(payload), payload))
			gotPAE, err := hex.DecodeString(strings.TrimSuffix(string(readVector(t, v.name+"/pae.hex")), "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotPAE, pae) {
				t.Errorf("pae.hex is %q, want %q", gotPAE, pae)
			}
			if !bytes.HasPrefix(pae, []byte("DSSEv1 36 application/vnd.truce.statement+json ")) {
				t.Errorf("PAE begins %q, want DSSEv1 36 application/vnd.truce.statement+json", pae[:48])
			}

			// The entry, decoded with plain encoding/json and base64.
			var entry struct {
				Received string `json:"received"`
				Envelope struct {
					Payload     string `json:"payload"`
					PayloadType string `json:"payloadType"`
					Signatures  []struct {
						KeyID string `json:"keyid"`
						Sig   string `json:"sig"`
					} `json:"signatures"`
				} `json:"envelope"`
			}
			entryJSON := readVector(t, v.name+"/entry.json")
			if err := json.Unmarshal(entryJSON, &entry); err != nil {
				t.Fatal(err)
			}
			if want := v.received.Format("2006-01-02T15:04:05.000Z"); entry.Received != want {
				t.Errorf("received is %q, want %q", entry.Received, want)
			}
			if entry.Envelope.PayloadType != truce.PayloadType {
				t.Errorf("payloadType is %q, want %q", entry.Envelope.PayloadType, truce.PayloadType)
			}
			p, err := base64.StdEncoding.Strict().DecodeString(entry.Envelope.Payload)
			if err != nil {
				t.Fatalf("payload is not canonical standard base64: %v", err)
			}
			if !bytes.Equal(p, payload) {
				t.Errorf("entry payload is %q, want payload.json %q", p, payload)
			}
			if got, want := len(entry.Envelope.Signatures), len(v.signers); got != want {
				t.Fatalf("entry has %d signatures, want %d", got, want)
			}
			for i, s := range entry.Envelope.Signatures {
				pub := vectorPub(v.signers[i])
				h := sha256.Sum256(pub)
				if want := hex.EncodeToString(h[:]); s.KeyID != want {
					t.Errorf("signatures[%d].keyid is %s, want %s (%s)", i, s.KeyID, want, v.signers[i])
				}
				sig, err := base64.StdEncoding.Strict().DecodeString(s.Sig)
				if err != nil {
					t.Fatalf("signatures[%d].sig is not canonical standard base64: %v", i, err)
				}
				if !ed25519.Verify(pub, pae, sig) {
					t.Errorf("signatures[%d] by %s does not verify over the PAE with crypto/ed25519", i, v.signers[i])
				}
			}

			// The envelope file is the entry's envelope, byte for byte.
			envJSON := readVector(t, v.name+"/envelope.json")
			wantEntry := `{"received":"` + entry.Received + `","envelope":` + string(envJSON) + `}`
			if string(entryJSON) != wantEntry {
				t.Errorf("entry.json is not {received, envelope.json}:\n got: %s\nwant: %s", entryJSON, wantEntry)
			}

			// And the package reads back exactly the statement it signed.
			e, err := truce.ParseEntry(entryJSON)
			if err != nil {
				t.Fatalf("ParseEntry: %v", err)
			}
			if e.Problem != nil {
				t.Fatalf("ParseEntry: statement problem: %v", e.Problem)
			}
			if !e.Received.Equal(v.received) {
				t.Errorf("Received is %v, want %v", e.Received, v.received)
			}
			if e.Statement.ID != v.statement.ID || e.Statement.Type != v.statement.Type || e.Statement.Author != v.statement.Author {
				t.Errorf("statement is %s %s by %s, want %s %s by %s", e.Statement.Type, e.Statement.ID, e.Statement.Author, v.statement.Type, v.statement.ID, v.statement.Author)
			}
			for _, name := range v.signers {
				ok, err := e.Envelope.Verify(vectorPub(name))
				if !ok || err != nil {
					t.Errorf("Verify(%s) = %v, %v; want true, nil", name, ok, err)
				}
			}
		})
	}
}

// TestVectorsOpenSSL shows that the keys and signatures interoperate with
// OpenSSL, as SPEC.md promises.
func TestVectorsOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	run := func(t *testing.T, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(openssl, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return out
	}
	for _, name := range vectorKeyNames {
		t.Run("pkey/"+name, func(t *testing.T) {
			der := run(t, "pkey", "-in", filepath.Join(vectorDir, "keys", name+".pem"), "-pubout", "-outform", "DER")
			k, err := x509.ParsePKIXPublicKey(der)
			if err != nil {
				t.Fatalf("cannot parse OpenSSL's public key: %v", err)
			}
			if got, want := k, vectorPub(name); !want.Equal(got) {
				t.Errorf("OpenSSL's public key is %x, want %x", got, []byte(want))
			}
		})
	}
	for _, v := range vectors() {
		t.Run("pkeyutl/"+v.name, func(t *testing.T) {
			dir := t.TempDir()
			env, err := truce.ParseEnvelope(readVector(t, v.name+"/envelope.json"))
			if err != nil {
				t.Fatal(err)
			}
			paeFile := filepath.Join(dir, "pae")
			if err := os.WriteFile(paeFile, truce.PAE(env.PayloadType, env.Payload), 0o644); err != nil {
				t.Fatal(err)
			}
			author := v.signers[0]
			sig := run(t, "pkeyutl", "-sign", "-rawin", "-inkey", filepath.Join(vectorDir, "keys", author+".pem"), "-in", paeFile)
			// Ed25519 is deterministic: OpenSSL's signature is the vector's.
			if !bytes.Equal(sig, env.Signatures[0].Sig) {
				t.Errorf("OpenSSL's signature is %x, want the vector's %x", sig, env.Signatures[0].Sig)
			}
			signed := &truce.Envelope{PayloadType: env.PayloadType, Payload: env.Payload, Signatures: []truce.Signature{{KeyID: truce.KeyID(vectorPub(author)), Sig: sig}}}
			if ok, err := signed.Verify(vectorPub(author)); !ok || err != nil {
				t.Errorf("Verify of OpenSSL's signature = %v, %v; want true, nil", ok, err)
			}
		})
	}
	t.Run("genpkey", func(t *testing.T) {
		// A key made by OpenSSL is a member key, and signs envelopes.
		file := filepath.Join(t.TempDir(), "key.pem")
		run(t, "genpkey", "-algorithm", "ed25519", "-out", file)
		pemBytes, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		key, err := truce.ParsePrivateKey(pemBytes)
		if err != nil {
			t.Fatalf("ParsePrivateKey of openssl genpkey's key: %v", err)
		}
		if got := truce.MarshalPrivateKey(key); !bytes.Equal(got, pemBytes) {
			t.Errorf("MarshalPrivateKey gives\n%s\nwant OpenSSL's\n%s", got, pemBytes)
		}
		der := run(t, "pkey", "-in", file, "-pubout", "-outform", "DER")
		if pub, err := x509.ParsePKIXPublicKey(der); err != nil || !key.Public().(ed25519.PublicKey).Equal(pub) {
			t.Errorf("OpenSSL's public key %v (%v) is not the parsed key's", pub, err)
		}
	})
}

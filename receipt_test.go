package truce_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/truce-mechanism/truce"
)

// receiptDir holds the receipt test vector: a receipt for the incident
// vector, logged at index 1 after the charter and before the assessment,
// in a checkpoint that the log signed and two witnesses cosigned.
const receiptDir = "testdata/receipt"

// fixedSigner is a note.Signer from a fixed Ed25519 key. Its sign
// function makes the signature: plain Ed25519 for the log, timestamped
// cosignature/v1 for a witness.
type fixedSigner struct {
	name string
	hash uint32
	sign func(msg []byte) []byte
}

func (s fixedSigner) Name() string                    { return s.name }
func (s fixedSigner) KeyHash() uint32                 { return s.hash }
func (s fixedSigner) Sign(msg []byte) ([]byte, error) { return s.sign(msg), nil }

func seedKey(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(label))
	return ed25519.NewKeyFromSeed(seed[:])
}

// receiptLogKey is the vectors' log key, seed SHA-256("truce vector log"),
// and its verifier key.
func receiptLogKey(t testing.TB) (note.Signer, string) {
	t.Helper()
	key := seedKey("truce vector log")
	vkey, err := note.NewEd25519VerifierKey(vectorMechanism, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return fixedSigner{v.Name(), v.KeyHash(), func(msg []byte) []byte { return ed25519.Sign(key, msg) }}, vkey
}

// receiptWitness is a vector witness, seed SHA-256("truce vector witness
// <name>"), whose cosignatures say they were made at the given time.
func receiptWitness(t testing.TB, name string, at time.Time) (note.Signer, truce.Witness) {
	t.Helper()
	key := seedKey("truce vector witness " + name)
	plain, err := note.NewEd25519VerifierKey("witness.example/"+name, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := f_note.VKeyToCosignatureV1(plain)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f_note.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	// SPEC: https://c2sp.org/tlog-cosignature: timestamp || Ed25519 over
	// "cosignature/v1\ntime <t>\n" and the checkpoint's text.
	sign := func(msg []byte) []byte {
		ts := uint64(at.Unix())
		sig := binary.BigEndian.AppendUint64(nil, ts)
		return append(sig, ed25519.Sign(key, fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", ts, msg))...)
	}
	return fixedSigner{v.Name(), v.KeyHash(), sign}, truce.Witness{Name: name, Key: vkey, URL: "https://witness.example/" + name + "/"}
}

// memHashes is an in-memory tlog.HashReader.
type memHashes []tlog.Hash

func (h memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = h[x]
	}
	return out, nil
}

// testLog is a log of entries in memory, hashed with x/mod's tlog rather
// than Tessera, so that the vector does not depend on the server's code.
func testLog(t testing.TB, entries [][]byte) (memHashes, tlog.Hash) {
	t.Helper()
	var hashes memHashes
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, hashes)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hs...)
	}
	root, err := tlog.TreeHash(int64(len(entries)), hashes)
	if err != nil {
		t.Fatal(err)
	}
	return hashes, root
}

// receiptCharter is the vector charter's witnesses and policy, in the
// shape of a charter's fields.
type receiptCharter struct {
	Witnesses     []truce.Witness `json:"witnesses"`
	WitnessPolicy json.RawMessage `json:"witness_policy"`
}

// receiptFiles makes the receipt vector's files.
func receiptFiles(t testing.TB) map[string][]byte {
	t.Helper()
	logSigner, vkey := receiptLogKey(t)
	at := time.Date(2025, 11, 10, 12, 0, 5, 0, time.UTC)
	af, afEntry := receiptWitness(t, "af", at)
	pk, pkEntry := receiptWitness(t, "pk", at.Add(2*time.Second))
	var entries [][]byte
	for _, v := range vectors() {
		entries = append(entries, v.entry(t))
	}
	hashes, root := testLog(t, entries)
	text := fmt.Sprintf("%s\n%d\n%s\n", vectorMechanism, len(entries), base64.StdEncoding.EncodeToString(root[:]))
	cp, err := note.Sign(&note.Note{Text: text}, logSigner, af, pk)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := tlog.ProveRecord(int64(len(entries)), 1, hashes)
	if err != nil {
		t.Fatal(err)
	}
	charter, err := json.MarshalIndent(receiptCharter{[]truce.Witness{afEntry, pkEntry}, json.RawMessage(`{"all": ["af", "pk"]}`)}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"log.vkey":            []byte(vkey + "\n"),
		"witnesses.json":      append(charter, '\n'),
		"incident.tlog-proof": truce.MarshalReceipt(1, entries[1], proof, cp),
	}
}

// receiptVector reads the vector: the receipt, the log's verifier, the
// witness policy and the charter's members.
func receiptVector(t testing.TB) (receipt []byte, logKey note.Verifier, policy *truce.WitnessPolicy, members []truce.Member) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(receiptDir, name))
		if err != nil {
			t.Fatalf("%v (run go test -run TestReceiptVector -update to write it)", err)
		}
		return b
	}
	logKey, err := note.NewVerifier(strings.TrimSpace(string(read("log.vkey"))))
	if err != nil {
		t.Fatal(err)
	}
	var c receiptCharter
	if err := json.Unmarshal(read("witnesses.json"), &c); err != nil {
		t.Fatal(err)
	}
	if policy, err = truce.NewWitnessPolicy(c.Witnesses, c.WitnessPolicy); err != nil {
		t.Fatal(err)
	}
	e, err := truce.ParseEntry(readVector(t, "charter/entry.json"))
	if err != nil || e.Problem != nil {
		t.Fatalf("charter vector: %v, %v", err, e.Problem)
	}
	return read("incident.tlog-proof"), logKey, policy, e.Body.(*truce.Charter).Members
}

func TestReceiptVector(t *testing.T) {
	files := receiptFiles(t)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	}) {
		path := filepath.Join(receiptDir, name)
		if *update {
			if err := os.MkdirAll(receiptDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, files[name], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestReceiptVector -update to write it)", err)
		}
		if !bytes.Equal(got, files[name]) {
			t.Errorf("%s differs from what the code makes now:\n got: %q\nwant: %q\n(if the change is intended, run go test -run TestReceiptVector -update)", path, got, files[name])
		}
	}

	data, logKey, policy, members := receiptVector(t)
	r, err := truce.ParseReceipt(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Marshal(); !bytes.Equal(got, data) {
		t.Errorf("Marshal of the parsed receipt:\n got: %q\nwant: %q", got, data)
	}
	v, err := r.Verify(logKey, policy, members)
	if err != nil {
		t.Fatal(err)
	}
	incident := vectors()[1]
	if v.Index != 1 || v.Checkpoint.Size != 3 || v.Checkpoint.Origin != vectorMechanism || !v.Checkpoint.Witnessed {
		t.Errorf("got index %d, size %d, origin %q, witnessed %v; want 1, 3, %s, witnessed", v.Index, v.Checkpoint.Size, v.Checkpoint.Origin, v.Checkpoint.Witnessed, vectorMechanism)
	}
	want := []truce.Cosignature{
		{Witness: "af", Time: time.Date(2025, 11, 10, 12, 0, 5, 0, time.UTC)},
		{Witness: "pk", Time: time.Date(2025, 11, 10, 12, 0, 7, 0, time.UTC)},
	}
	if !slices.Equal(v.Checkpoint.Cosignatures, want) {
		t.Errorf("cosignatures %v, want %v", v.Checkpoint.Cosignatures, want)
	}
	if st := v.Entry.Statement; st == nil || st.ID != incident.statement.ID || st.Author != "mon-1" || !v.Entry.Received.Equal(incident.received) {
		t.Errorf("statement %+v received %v, want %s by mon-1 received %v", st, v.Entry.Received, incident.statement.ID, incident.received)
	}
	if !v.WitnessesChecked || !v.AuthorChecked || v.AuthorKey != truce.KeyID(vectorPub("mon-1")) || v.AuthorProblem != "" {
		t.Errorf("witnesses checked %v, author checked %v, key %q, problem %q; want true, true, mon-1's keyid, none", v.WitnessesChecked, v.AuthorChecked, v.AuthorKey, v.AuthorProblem)
	}
}

// TestReceiptIndependently checks the vector receipt with the standard
// library alone: the layout, the leaf hash and the path to the root, as
// C2SP tlog-proof and RFC 6962 describe them.
func TestReceiptIndependently(t *testing.T) {
	data, _, _, _ := receiptVector(t)
	head, checkpoint, ok := strings.Cut(string(data), "\n\n")
	if !ok {
		t.Fatal("no empty line")
	}
	lines := strings.Split(head, "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" || lines[2] != "index 1" || !strings.HasPrefix(lines[1], "extra ") {
		t.Fatalf("header lines %q", lines[:3])
	}
	entry, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[1], "extra "))
	if err != nil || !bytes.Equal(entry, readVector(t, "incident/entry.json")) {
		t.Fatalf("extra is not the incident vector's entry.json: %v", err)
	}
	node := func(l, r []byte) []byte {
		h := sha256.Sum256(append(append([]byte{1}, l...), r...))
		return h[:]
	}
	leaf := sha256.Sum256(append([]byte{0}, entry...))
	if len(lines) != 5 {
		t.Fatalf("%d proof hashes, want 2 (index 1 of 3)", len(lines)-3)
	}
	sibling, _ := base64.StdEncoding.DecodeString(lines[3]) // leaf 0
	right, _ := base64.StdEncoding.DecodeString(lines[4])   // leaf 2
	root := node(node(sibling, leaf[:]), right)
	cpLines := strings.Split(checkpoint, "\n")
	if cpLines[0] != vectorMechanism || cpLines[1] != "3" || cpLines[2] != base64.StdEncoding.EncodeToString(root) {
		t.Errorf("checkpoint %q, want %s, 3, root %s", cpLines[:3], vectorMechanism, base64.StdEncoding.EncodeToString(root))
	}
	if want := sha256.Sum256(append([]byte{0}, readVector(t, "charter/entry.json")...)); !bytes.Equal(sibling, want[:]) {
		t.Errorf("first proof hash %x, want the charter's leaf hash %x", sibling, want)
	}
}

// sameMeaning reports whether two verified receipts say the same: the
// same entry at the same index, in the same checkpoint, with the same
// cosignatures.
func sameMeaning(a, b *truce.VerifiedReceipt) bool {
	ta, tb := a.Checkpoint.Text, b.Checkpoint.Text
	text := func(n []byte) []byte { return n[:bytes.Index(n, []byte("\n\n"))+1] }
	return a.Index == b.Index && bytes.Equal(text(ta), text(tb)) && sameSignatures(ta, tb) &&
		slices.Equal(a.Checkpoint.Cosignatures, b.Checkpoint.Cosignatures) &&
		a.Entry.Statement != nil && b.Entry.Statement != nil && bytes.Equal(a.Entry.Envelope.Payload, b.Entry.Envelope.Payload) &&
		a.AuthorKey == b.AuthorKey
}

// TestReceiptFlipEveryByte flips each byte of the vector receipt: no
// altered receipt verifies unless it means the same (a flip in the unused
// bits of a signature's base64 changes no signature).
func TestReceiptFlipEveryByte(t *testing.T) {
	data, logKey, policy, members := receiptVector(t)
	r, err := truce.ParseReceipt(data)
	if err != nil {
		t.Fatal(err)
	}
	good, err := r.Verify(logKey, policy, members)
	if err != nil {
		t.Fatal(err)
	}
	verified := 0
	for i := range data {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(data)
			bad[i] ^= bit
			r, err := truce.ParseReceipt(bad)
			if err != nil {
				if !errors.Is(err, truce.ErrReceipt) {
					t.Fatalf("byte %d ^ %#x: ParseReceipt error %v is not ErrReceipt", i, bit, err)
				}
				continue
			}
			v, err := r.Verify(logKey, policy, members)
			if err != nil {
				if !errors.Is(err, truce.ErrReceipt) {
					t.Fatalf("byte %d ^ %#x: Verify error %v is not ErrReceipt", i, bit, err)
				}
				continue
			}
			verified++
			if !sameMeaning(v, good) {
				t.Errorf("byte %d ^ %#x (%q): the altered receipt verifies and says something else", i, bit, bad[i])
			}
		}
	}
	t.Logf("%d of %d altered receipts verified, each with the same meaning", verified, 2*len(data))
	if verified > 8 {
		t.Errorf("%d altered receipts verified; only flips in the signatures' unused base64 bits should", verified)
	}
}

func TestReceiptErrors(t *testing.T) {
	data, logKey, policy, members := receiptVector(t)
	r, err := truce.ParseReceipt(data)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	head, _, _ := strings.Cut(text, "\n\n")
	lines := strings.Split(head, "\n")

	parse := []struct {
		name, data, want string
	}{
		{"empty", "", "line 1: not c2sp.org/tlog-proof@v1"},
		{"another format", strings.Replace(text, "@v1", "@v2", 1), "line 1: not c2sp.org/tlog-proof@v1"},
		{"no extra", strings.Replace(text, lines[1]+"\n", "", 1), "line 2: no extra line"},
		{"extra not base64", strings.Replace(text, "extra ", "extra !", 1), "line 2: the extra data is not the log entry"},
		{"empty extra", strings.Replace(text, lines[1], "extra ", 1), "line 2: the extra data is not the log entry"},
		{"no index", strings.Replace(text, "index 1\n", "", 1), "line 3: want index N"},
		{"leading zero", strings.Replace(text, "index 1\n", "index 01\n", 1), `line 3: index "01" is not a whole number`},
		{"negative index", strings.Replace(text, "index 1\n", "index -1\n", 1), `line 3: index "-1"`},
		{"short hash", strings.Replace(text, lines[4], lines[4][:40], 1), "line 5: not a SHA-256 hash"},
		{"no empty line", head + "\n", "line 6: the file ends before the empty line"},
		{"no checkpoint", head + "\n\n", "line 7: no checkpoint after the empty line"},
		{"no final newline", strings.TrimSuffix(head, "\n"), "line 5: the file ends before the empty line"},
	}
	for _, tt := range parse {
		t.Run(tt.name, func(t *testing.T) {
			_, err := truce.ParseReceipt([]byte(tt.data))
			if !errors.Is(err, truce.ErrReceipt) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseReceipt: got %v, want ErrReceipt saying %q", err, tt.want)
			}
		})
	}

	other := *r
	other.Index = 0
	beyond := *r
	beyond.Index = 3
	longer := *r
	longer.Proof = append(slices.Clone(r.Proof), r.Proof[0])
	onlyAF := *r
	onlyAF.Checkpoint = r.Checkpoint[:bytes.LastIndex(r.Checkpoint, []byte("— witness.example/pk "))]
	unsigned := *r
	unsigned.Checkpoint = r.Checkpoint[:bytes.Index(r.Checkpoint, []byte("\n\n"))+2]
	notEntry := *r
	notEntry.Entry = []byte("not an entry")
	_, wrongKey, err := note.GenerateKey(rand.Reader, vectorMechanism)
	if err != nil {
		t.Fatal(err)
	}
	wrongLog, err := note.NewVerifier(wrongKey)
	if err != nil {
		t.Fatal(err)
	}
	stranger := slices.Clone(members)
	for i := range stranger {
		if stranger[i].ID == "mon-1" {
			stranger[i].Keys = []string{truce.EncodePublicKey(vectorPub("af-1"))}
		}
	}

	verify := []struct {
		name    string
		r       truce.Receipt
		logKey  note.Verifier
		members []truce.Member
		is      error
		want    string
	}{
		{"another index", other, logKey, members, truce.ErrNotIncluded, "the inclusion proof does not lead to the checkpoint's root"},
		{"beyond the tree", beyond, logKey, members, truce.ErrNotIncluded, "index 3 is beyond the checkpoint's tree of size 3"},
		{"a hash too many", longer, logKey, members, truce.ErrNotIncluded, "the inclusion proof does not lead"},
		{"one witness of two", onlyAF, logKey, members, truce.ErrNotWitnessed, "it is cosigned by af, and the witness policy needs all of (af, pk)"},
		{"no signatures", unsigned, logKey, members, truce.ErrCheckpoint, "bad checkpoint"},
		{"another log's key", *r, wrongLog, members, truce.ErrCheckpoint, "bad checkpoint"},
		{"not an entry", notEntry, logKey, members, truce.ErrNotIncluded, "does not lead"},
	}
	for _, tt := range verify {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.r.Verify(tt.logKey, policy, tt.members)
			if !errors.Is(err, truce.ErrReceipt) || !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Verify: got %v, want ErrReceipt and %v saying %q", err, tt.is, tt.want)
			}
		})
	}

	// Without a policy, the cosignatures are not needed, and the result
	// says that they were not checked; without members, the author's
	// signature is not checked either.
	v, err := onlyAF.Verify(logKey, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.WitnessesChecked || v.AuthorChecked || v.AuthorKey != "" || len(v.Checkpoint.Cosignatures) != 0 {
		t.Errorf("without policy or members: %+v; want nothing checked but the log and the inclusion", v)
	}
	// An author the charter given does not list is said, not refused: the
	// charter may be an older version.
	v, err = r.Verify(logKey, policy, members[:1])
	if err != nil {
		t.Fatal(err)
	}
	if v.AuthorKey != "" || v.AuthorProblem != "mon-1 is not a member in the charter given" {
		t.Errorf("author not in the charter: key %q, problem %q", v.AuthorKey, v.AuthorProblem)
	}
	// So is an author whose keys the charter given no longer lists the
	// one it signed with: a charter version after a key rotation.
	v, err = r.Verify(logKey, policy, stranger)
	if err != nil {
		t.Fatalf("author's key rotated: %v, want the receipt verified and the author's signature not", err)
	}
	if v.AuthorKey != "" || !strings.Contains(v.AuthorProblem, "mon-1 is a member, but no key the charter given lists for it signed the statement") {
		t.Errorf("author's key rotated: key %q, problem %q", v.AuthorKey, v.AuthorProblem)
	}
}

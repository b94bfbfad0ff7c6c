package truce

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A receipt proves that an entry is in the log: it is a C2SP tlog-proof
// file whose extra data is the entry itself, so that any tlog-proof tool
// can check it, and truce can show the statement it carries. The extra
// data is authenticated after all: the inclusion proof is of the hash of
// exactly those bytes.
//
//	c2sp.org/tlog-proof@v1
//	extra <the entry, standard base64>
//	index <the entry's index>
//	<the inclusion proof: one base64 SHA-256 hash a line>
//
//	<the checkpoint, a signed note with the log's signature and the witnesses' cosignatures>
//
// SPEC: https://c2sp.org/tlog-proof

// ReceiptHeader is the first line of a receipt.
const ReceiptHeader = "c2sp.org/tlog-proof@v1"

// maxProofHashes is the longest inclusion proof: one hash per level of a
// tree of up to 2^63 entries.
const maxProofHashes = 63

var (
	// ErrReceipt is matched by every error of ParseReceipt and
	// Receipt.Verify.
	ErrReceipt = errors.New("bad receipt")
	// ErrNotWitnessed is matched, with ErrReceipt, when the receipt's
	// checkpoint lacks the cosignatures the witness policy needs.
	ErrNotWitnessed = errors.New("checkpoint not witnessed")
	// ErrNotIncluded is matched, with ErrReceipt, when the inclusion proof
	// does not prove the entry at its index in the checkpoint's tree.
	ErrNotIncluded = errors.New("entry not proven in the log")
)

// Receipt is a parsed receipt, not yet verified.
type Receipt struct {
	// Index is the entry's index in the log.
	Index int64
	// Entry is the log entry, as the log holds it.
	Entry []byte
	// Proof is the RFC 6962 inclusion proof of the entry in the
	// checkpoint's tree, from the leaf's sibling up.
	Proof tlog.RecordProof
	// Checkpoint is the signed checkpoint, verbatim.
	Checkpoint []byte
}

// VerifiedReceipt is what a receipt proves.
type VerifiedReceipt struct {
	// Index is the entry's index in the log.
	Index int64
	// Checkpoint is the checkpoint that includes the entry, with the
	// cosignatures of the policy's witnesses.
	Checkpoint *Checkpoint
	// Entry is the log entry, parsed. Entry.Problem says why its payload
	// is not a valid statement, if it is not.
	Entry *Entry
	// WitnessesChecked reports whether Verify was given a witness policy;
	// without one, only the log's signature was checked.
	WitnessesChecked bool
	// AuthorChecked reports whether Verify was given members to check the
	// author's signature with.
	AuthorChecked bool
	// AuthorKey is the keyid of the author's key whose signature verified;
	// empty when the author's signature was not checked, or the author is
	// not among the members given (AuthorProblem says so).
	AuthorKey string
	// AuthorProblem says, for people, why the author's signature was not
	// verified although members were given.
	AuthorProblem string
}

// MarshalReceipt writes the receipt for the entry at index, proven by
// proof in the tree of checkpoint.
func MarshalReceipt(index int64, entry []byte, proof tlog.RecordProof, checkpoint []byte) []byte {
	var b bytes.Buffer
	b.WriteString(ReceiptHeader + "\n")
	b.WriteString("extra " + base64.StdEncoding.EncodeToString(entry) + "\n")
	b.WriteString("index " + strconv.FormatInt(index, 10) + "\n")
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(checkpoint)
	return b.Bytes()
}

// Marshal writes the receipt, as MarshalReceipt does.
func (r *Receipt) Marshal() []byte {
	return MarshalReceipt(r.Index, r.Entry, r.Proof, r.Checkpoint)
}

func receiptError(line int, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrReceipt, line, fmt.Sprintf(format, args...))
}

// ParseReceipt reads a receipt. It checks the layout only: every line is
// in the one form MarshalReceipt writes it (canonical base64, decimal
// without leading zeros), so that no two files are the same receipt;
// Verify checks what it proves.
func ParseReceipt(data []byte) (*Receipt, error) {
	lines := strings.SplitAfter(string(data), "\n")
	n := 0
	next := func() (string, bool) {
		if n >= len(lines) || !strings.HasSuffix(lines[n], "\n") {
			return "", false
		}
		n++
		return strings.TrimSuffix(lines[n-1], "\n"), true
	}
	line, ok := next()
	if !ok || line != ReceiptHeader {
		return nil, receiptError(1, "not %s (a C2SP tlog-proof file)", ReceiptHeader)
	}
	r := new(Receipt)
	line, ok = next()
	extra, isExtra := strings.CutPrefix(line, "extra ")
	if !ok || !isExtra {
		return nil, receiptError(2, "no extra line: a truce receipt carries the log entry as its extra data")
	}
	entry, ok := canonicalBase64(extra)
	if !ok || len(entry) == 0 {
		return nil, receiptError(2, "the extra data is not the log entry in canonical standard base64")
	}
	if len(entry) > MaxEntrySize {
		return nil, receiptError(2, "the entry is %d bytes, more than a log entry's %d", len(entry), MaxEntrySize)
	}
	r.Entry = entry
	line, ok = next()
	index, isIndex := strings.CutPrefix(line, "index ")
	if !ok || !isIndex {
		return nil, receiptError(3, "want index N")
	}
	i, err := strconv.ParseInt(index, 10, 64)
	if err != nil || i < 0 || strconv.FormatInt(i, 10) != index {
		return nil, receiptError(3, "index %q is not a whole number from 0 without leading zeros", index)
	}
	r.Index = i
	for {
		line, ok = next()
		if !ok {
			return nil, receiptError(n+1, "the file ends before the empty line and the checkpoint")
		}
		if line == "" {
			break
		}
		h, ok := canonicalBase64(line)
		if !ok || len(h) != tlog.HashSize {
			return nil, receiptError(n, "not a SHA-256 hash in canonical standard base64")
		}
		if len(r.Proof) == maxProofHashes {
			return nil, receiptError(n, "the inclusion proof has more than %d hashes", maxProofHashes)
		}
		r.Proof = append(r.Proof, tlog.Hash(h))
	}
	r.Checkpoint = []byte(strings.Join(lines[n:], ""))
	if len(r.Checkpoint) == 0 {
		return nil, receiptError(n+1, "no checkpoint after the empty line")
	}
	return r, nil
}

// canonicalBase64 decodes s if it is standard base64 in the one form
// EncodeToString writes: no unused bits set, no line breaks.
func canonicalBase64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// Verify checks what the receipt proves, offline:
//
//   - the checkpoint carries a signature by logKey, and its origin is the
//     key's name (see OpenCheckpoint);
//   - when policy names witnesses, their cosignatures satisfy it
//     (ErrNotWitnessed); a nil policy checks no witnesses, and the result
//     says so;
//   - the inclusion proof proves the entry at its index in the
//     checkpoint's tree (ErrNotIncluded);
//   - the entry is a truce log entry;
//   - when members are given, the statement is signed by a key of its
//     author's; when it is not, AuthorProblem says why, since members from
//     a charter other than the one in force when the entry was logged may
//     lack the author or its key.
func (r *Receipt) Verify(logKey note.Verifier, policy *WitnessPolicy, members []Member) (*VerifiedReceipt, error) {
	cp, err := OpenCheckpoint(r.Checkpoint, logKey, policy)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrReceipt, err)
	}
	if !cp.Witnessed {
		by := "no witness"
		if c := cp.Cosigned(); len(c) > 0 {
			by = strings.Join(c, ", ")
		}
		return nil, fmt.Errorf("%w: %w: it is cosigned by %s, and the witness policy needs %s", ErrReceipt, ErrNotWitnessed, by, policy)
	}
	if r.Index >= cp.Size {
		return nil, fmt.Errorf("%w: %w: index %d is beyond the checkpoint's tree of size %d", ErrReceipt, ErrNotIncluded, r.Index, cp.Size)
	}
	if err := tlog.CheckRecord(r.Proof, cp.Size, cp.Hash, r.Index, tlog.RecordHash(r.Entry)); err != nil {
		return nil, fmt.Errorf("%w: %w: the inclusion proof does not lead to the checkpoint's root (%d hashes for index %d of %d)", ErrReceipt, ErrNotIncluded, len(r.Proof), r.Index, cp.Size)
	}
	e, err := ParseEntry(r.Entry)
	if err != nil {
		return nil, fmt.Errorf("%w: the entry is not a truce log entry: %w", ErrReceipt, err)
	}
	v := &VerifiedReceipt{Index: r.Index, Checkpoint: cp, Entry: e, WitnessesChecked: policy != nil}
	if members != nil {
		v.AuthorChecked = true
		if err := v.checkAuthor(members); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrReceipt, err)
		}
	}
	return v, nil
}

// checkAuthor looks for a signature by a key of the statement's author
// that verifies. A signature by one of the members' keys that is
// malformed is an error; an author who is not a member, or is one but
// signed with no key listed for it, is an AuthorProblem.
func (v *VerifiedReceipt) checkAuthor(members []Member) error {
	st := v.Entry.Statement
	if st == nil {
		v.AuthorProblem = "the entry carries no valid statement"
		return nil
	}
	var author *Member
	for i := range members {
		if members[i].ID == st.Author {
			author = &members[i]
		}
	}
	if author == nil {
		v.AuthorProblem = fmt.Sprintf("%s is not a member in the charter given", st.Author)
		return nil
	}
	for _, k := range author.Keys {
		pub, err := ParsePublicKey(k)
		if err != nil {
			continue
		}
		ok, err := v.Entry.Envelope.Verify(pub)
		if err != nil {
			return fmt.Errorf("the statement's signature by its author %s: %w", st.Author, err)
		}
		if ok && v.AuthorKey == "" {
			v.AuthorKey = KeyID(pub)
		}
	}
	if v.AuthorKey == "" {
		// Keys are rotated: a charter later than the one in force when the
		// statement was logged may no longer list the key it was signed
		// with. The log accepted it then, so it is no forgery, only not
		// checkable with these members.
		v.AuthorProblem = fmt.Sprintf("%s is a member, but no key the charter given lists for it signed the statement (were its keys rotated since?)", st.Author)
	}
	return nil
}

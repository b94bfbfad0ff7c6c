package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"
)

// MaxProofLines is the most consistency proof lines a request may carry:
// a proof between trees of up to 2^63 leaves needs no more.
//
// SPEC: https://c2sp.org/tlog-witness#add-checkpoint
const MaxProofLines = 63

// Request is a parsed add-checkpoint request body.
//
// SPEC: https://c2sp.org/tlog-witness#add-checkpoint
type Request struct {
	// Old is the size of the checkpoint the client believes the witness
	// cosigned last, 0 if it does not know.
	Old uint64
	// Proof is the RFC 6962 consistency proof from Old to the checkpoint's
	// size.
	Proof tlog.TreeProof
	// Checkpoint is the signed note, as sent.
	Checkpoint []byte
}

// ParseRequest parses an add-checkpoint body: "old N", up to 63 base64
// proof lines, an empty line, and a checkpoint. Errors wrap ErrMalformed.
// It does not look inside the checkpoint.
func ParseRequest(body []byte) (*Request, error) {
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("%w: no old size line", ErrMalformed)
	}
	num, ok := bytes.CutPrefix(line, []byte("old "))
	if !ok {
		return nil, fmt.Errorf("%w: first line is not \"old N\"", ErrMalformed)
	}
	old, err := parseSize(num)
	if err != nil {
		return nil, fmt.Errorf("%w: old size: %v", ErrMalformed, err)
	}
	r := &Request{Old: old}
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return nil, fmt.Errorf("%w: no empty line before the checkpoint", ErrMalformed)
		}
		if len(line) == 0 {
			break
		}
		if len(r.Proof) == MaxProofLines {
			return nil, fmt.Errorf("%w: more than %d proof lines", ErrMalformed, MaxProofLines)
		}
		h, err := parseHash(line)
		if err != nil {
			return nil, fmt.Errorf("%w: proof line %d: %v", ErrMalformed, len(r.Proof)+1, err)
		}
		r.Proof = append(r.Proof, h)
	}
	if len(rest) == 0 {
		return nil, fmt.Errorf("%w: no checkpoint", ErrMalformed)
	}
	r.Checkpoint = rest
	return r, nil
}

// checkpoint is the text of a C2SP checkpoint.
type checkpoint struct {
	origin string
	size   uint64
	root   tlog.Hash
}

// parseCheckpoint parses a checkpoint's note text: origin, size and root
// hash lines, then extension lines, which it ignores.
//
// SPEC: https://c2sp.org/tlog-checkpoint
func parseCheckpoint(text string) (checkpoint, error) {
	lines := bytes.SplitN([]byte(text), []byte("\n"), 4)
	if len(lines) < 4 {
		return checkpoint{}, errors.New("fewer than three lines")
	}
	if len(lines[0]) == 0 {
		return checkpoint{}, errors.New("empty origin")
	}
	size, err := parseSize(lines[1])
	if err != nil {
		return checkpoint{}, fmt.Errorf("size: %v", err)
	}
	root, err := parseHash(lines[2])
	if err != nil {
		return checkpoint{}, fmt.Errorf("root hash: %v", err)
	}
	return checkpoint{origin: string(lines[0]), size: size, root: root}, nil
}

// parseSize parses a tree size: ASCII decimal without leading zeros, at
// most 2^63-1 because tlog counts in int64.
func parseSize(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 1 && b[0] == '0' {
		return 0, fmt.Errorf("%q is not a decimal without leading zeros", b)
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal without leading zeros", b)
		}
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || n > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", b)
	}
	return n, nil
}

// parseHash parses a standard base64 SHA-256 hash.
func parseHash(b []byte) (tlog.Hash, error) {
	var h tlog.Hash
	if len(b) != base64.StdEncoding.EncodedLen(len(h)) {
		return tlog.Hash{}, fmt.Errorf("%q is not a base64 SHA-256 hash", b)
	}
	// Strict decoding rejects nonzero padding bits, so that a hash has one
	// encoding; 44 characters without padding would decode to 33 bytes.
	var buf [33]byte
	if n, err := base64.StdEncoding.Strict().Decode(buf[:], b); err != nil || n != len(h) {
		return tlog.Hash{}, fmt.Errorf("%q is not a base64 SHA-256 hash", b)
	}
	copy(h[:], buf[:])
	return h, nil
}

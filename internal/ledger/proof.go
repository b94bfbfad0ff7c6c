package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"

	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	// ErrNotLogged is returned by Receipt for an index beyond the log.
	ErrNotLogged = errors.New("no entry at that index")
	// ErrNotPublished is returned by Receipt for an entry that is logged
	// but not yet covered by the published checkpoint: the log has not
	// signed one since, or the witnesses have not cosigned it yet.
	ErrNotPublished = errors.New("entry not yet in a published checkpoint")
)

// receiptAttempts is how many checkpoints Receipt tries when each moves on
// while it reads the tiles.
const receiptAttempts = 5

// Receipt is what proves one entry in the log: the entry, its inclusion
// proof and the published checkpoint that the proof leads to.
type Receipt struct {
	Index uint64
	Entry []byte
	// Proof is the RFC 6962 inclusion proof at the checkpoint's size.
	Proof tlog.RecordProof
	// Checkpoint is the published checkpoint, as served at /log/checkpoint:
	// with the log's signature and the witnesses' cosignatures.
	Checkpoint []byte
}

// Receipt proves the entry at index in the latest published checkpoint.
// It fails with ErrNotLogged for an index beyond the log, and with
// ErrNotPublished for an entry that the published checkpoint does not
// cover yet. The proof is checked against the checkpoint's root before it
// is returned.
func (l *Ledger) Receipt(ctx context.Context, index uint64) (*Receipt, error) {
	if err := l.begin("prove entry"); err != nil {
		return nil, err
	}
	defer l.inflight.Done()
	size, err := l.Size(ctx)
	if err != nil {
		return nil, err
	}
	if index >= size {
		return nil, fmt.Errorf("cannot prove entry %d: the log has %d entries: %w", index, size, ErrNotLogged)
	}
	entries, err := l.Entries(ctx, index, index+1)
	if err != nil {
		return nil, err
	}
	tiles := client.FileFetcher{Root: l.dir}
	var last error
	for range receiptAttempts {
		cp, err := l.Checkpoint(ctx)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot prove entry %d: no checkpoint is published yet: %w", index, ErrNotPublished)
		} else if err != nil {
			return nil, err
		}
		// The checkpoint is our own file, so its body is read without
		// checking the signature: it begins the note's text.
		var c f_log.Checkpoint
		if _, err := c.Unmarshal(cp); err != nil {
			return nil, fmt.Errorf("cannot parse checkpoint: %w", err)
		}
		if len(c.Hash) != tlog.HashSize {
			return nil, fmt.Errorf("cannot parse checkpoint: its root hash is %d bytes", len(c.Hash))
		}
		if index >= c.Size {
			return nil, fmt.Errorf("cannot prove entry %d: the published checkpoint has %d entries: %w", index, c.Size, ErrNotPublished)
		}
		proof, err := inclusionProof(ctx, tiles, index, c.Size)
		if err == nil {
			err = tlog.CheckRecord(proof, int64(c.Size), tlog.Hash(c.Hash), int64(index), tlog.RecordHash(entries[0]))
			if err != nil {
				err = fmt.Errorf("the proof does not lead to the checkpoint's root: %w", err)
			}
		}
		if err == nil {
			return &Receipt{Index: index, Entry: entries[0], Proof: proof, Checkpoint: cp}, nil
		}
		last = err
		// A partial tile of the checkpoint's size is deleted once a newer
		// checkpoint covers the full tile: if the checkpoint moved on
		// while the tiles were read, try again with the newer one.
		now, cerr := l.Checkpoint(ctx)
		if cerr != nil || bytes.Equal(now, cp) {
			break
		}
	}
	return nil, fmt.Errorf("cannot prove entry %d: %w", index, last)
}

// inclusionProof reads the proof of index in the tree of size from the
// log's tiles.
func inclusionProof(ctx context.Context, tiles client.FileFetcher, index, size uint64) (tlog.RecordProof, error) {
	pb, err := client.NewProofBuilder(ctx, size, tiles.ReadTile)
	if err != nil {
		return nil, err
	}
	hashes, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("cannot read the inclusion proof at size %d: %w", size, err)
	}
	proof := make(tlog.RecordProof, len(hashes))
	for i, h := range hashes {
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("cannot read the inclusion proof at size %d: hash %d is %d bytes", size, i, len(h))
		}
		proof[i] = tlog.Hash(h)
	}
	return proof, nil
}

package ledger

import (
	"bytes"
	"context"
	"fmt"

	"github.com/transparency-dev/tessera"
)

// AddBatch appends entries to the log in the order given and returns the
// index of the first, once Tessera has durably sequenced all of them; it
// does not wait for a checkpoint. It is for tools that write a whole
// history at once, such as the demo, where one Add per entry would wait a
// batch age for each.
//
// Every entry is handed to Tessera from one goroutine before any index is
// awaited, so Tessera batches them as it likes; entries handed over in
// order get increasing, contiguous indexes. AddBatch checks that from the
// indexes Tessera returns and fails if they are not contiguous (an Add
// running at the same time, say, took an index in between): the entries
// are then logged, but not as one run.
//
// An entry over MaxEntrySize bytes fails the whole batch with ErrTooLarge
// before anything is added. If ctx ends first, AddBatch returns ctx's
// error, and the entries may still be logged.
func (l *Ledger) AddBatch(ctx context.Context, entries [][]byte) (first uint64, err error) {
	for i, e := range entries {
		if len(e) > MaxEntrySize {
			return 0, fmt.Errorf("cannot add batch: entry %d is %d bytes (at most %d): %w", i, len(e), MaxEntrySize, ErrTooLarge)
		}
	}
	if len(entries) == 0 {
		return l.Size(ctx)
	}
	if err := l.begin("add batch"); err != nil {
		return 0, err
	}

	type result struct {
		first uint64
		err   error
	}
	done := make(chan result, 1)
	go func() {
		defer l.inflight.Done()
		// Tessera flushes a batch when it is full or old; a timed flush
		// racing a full one can send the later batch first. Handing over at
		// most one batch's worth at a time, and waiting for it, leaves only
		// one flush in flight, so the order holds.
		var first uint64
		for start := 0; start < len(entries); start += int(l.batch) {
			chunk := entries[start:min(len(entries), start+int(l.batch))]
			futures := make([]tessera.IndexFuture, len(chunk))
			for i, e := range chunk {
				// As in Add, a copy keeps what Tessera hashes and what it writes equal.
				futures[i] = l.add(ctx, tessera.NewEntry(bytes.Clone(e)))
			}
			f, err := resolve(futures)
			if err == nil && start > 0 && f != first+uint64(start) {
				err = fmt.Errorf("entry %d was sequenced at index %d, want %d: the batch's indexes are not contiguous", start, f, first+uint64(start))
			}
			if start == 0 {
				first = f
			}
			if err != nil {
				done <- result{first, err}
				return
			}
		}
		done <- result{first, nil}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return 0, fmt.Errorf("cannot add batch of %d entries: %w", len(entries), r.err)
		}
		l.log.Info("added batch", "first", r.first, "entries", len(entries))
		return r.first, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("cannot add batch: %w", ctx.Err())
	}
}

// resolve waits for every future and checks that the indexes run on from
// the first without a gap, a duplicate or a reordering.
func resolve(futures []tessera.IndexFuture) (uint64, error) {
	var first uint64
	var failed error
	for i, f := range futures {
		idx, err := f()
		if failed != nil {
			continue // still wait for the rest, so none is left in flight
		}
		switch {
		case err != nil:
			failed = fmt.Errorf("entry %d: %w", i, err)
		case idx.IsDup:
			failed = fmt.Errorf("entry %d was a duplicate of the entry at index %d", i, idx.Index)
		case i == 0:
			first = idx.Index
		case idx.Index != first+uint64(i):
			failed = fmt.Errorf("entry %d was sequenced at index %d, want %d: the batch's indexes are not contiguous", i, idx.Index, first+uint64(i))
		}
	}
	return first, failed
}

package ledger_test

import (
	"errors"
	"testing"

	"github.com/truce-mechanism/truce/internal/ledger"
)

func TestAddBatch(t *testing.T) {
	dir := t.TempDir()
	s, _ := newKey(t)
	l := open(t, dir, s)

	want := addAll(t, l, 0, 3, 1)
	// Over two full bundles and a partial one, with the largest entry in it.
	const n = 2*256 + 77
	batch := make([][]byte, n)
	for i := range batch {
		batch[i] = entry(3 + i)
	}
	first, err := l.AddBatch(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if first != 3 {
		t.Fatalf("AddBatch returned first index %d, want 3", first)
	}
	for i, e := range batch {
		want[first+uint64(i)] = e
	}
	checkEntries(t, l, want)

	// An empty batch adds nothing and answers the size.
	if got, err := l.AddBatch(t.Context(), nil); err != nil || got != 3+n {
		t.Errorf("AddBatch(nil) = %d, %v, want %d, nil", got, err, 3+n)
	}

	// One entry too large refuses the whole batch.
	tooLarge := [][]byte{[]byte("fine"), make([]byte, ledger.MaxEntrySize+1)}
	if _, err := l.AddBatch(t.Context(), tooLarge); !errors.Is(err, ledger.ErrTooLarge) {
		t.Errorf("AddBatch with a large entry: got %v, want ErrTooLarge", err)
	}
	checkEntries(t, l, want)

	cp, err := l.WaitPublished(t.Context(), 3+n)
	if err != nil {
		t.Fatal(err)
	}
	if got := checkpointSize(t, cp); got != 3+n {
		t.Errorf("published size %d, want %d", got, 3+n)
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddBatch(t.Context(), [][]byte{[]byte("late")}); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("AddBatch after Close: got %v, want ErrClosed", err)
	}

	// Reopened, the log holds the batch, and a new batch runs on from it.
	l = open(t, dir, s)
	checkEntries(t, l, want)
	first, err = l.AddBatch(t.Context(), [][]byte{entry(5000), entry(5001)})
	if err != nil {
		t.Fatal(err)
	}
	if first != 3+n {
		t.Errorf("AddBatch after reopening returned first index %d, want %d", first, 3+n)
	}
}

package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/ledger"
)

// checkReceipt verifies a receipt as a client would: the checkpoint's log
// signature, and the entry's inclusion at its root.
func checkReceipt(t *testing.T, v note.Verifier, r *ledger.Receipt, index uint64, want []byte) {
	t.Helper()
	cp, err := truce.OpenCheckpoint(r.Checkpoint, v, nil)
	if err != nil {
		t.Fatalf("receipt %d: %v", index, err)
	}
	if r.Index != index || string(r.Entry) != string(want) {
		t.Fatalf("receipt %d: index %d, entry %.40q; want %d, %.40q", index, r.Index, r.Entry, index, want)
	}
	if err := tlog.CheckRecord(r.Proof, cp.Size, cp.Hash, int64(index), tlog.RecordHash(want)); err != nil {
		t.Fatalf("receipt %d at size %d: %v", index, cp.Size, err)
	}
}

func TestReceipt(t *testing.T) {
	s, v := newKey(t)
	l := open(t, t.TempDir(), s)
	ctx := t.Context()

	if _, err := l.Receipt(ctx, 0); !errors.Is(err, ledger.ErrNotLogged) {
		t.Errorf("Receipt(0) of an empty log: %v, want ErrNotLogged", err)
	}
	want := addAll(t, l, 0, 250, 4)
	if _, err := l.WaitPublished(ctx, 250); err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint64{0, 1, 7, 128, 249} {
		r, err := l.Receipt(ctx, i)
		if err != nil {
			t.Fatalf("Receipt(%d): %v", i, err)
		}
		checkReceipt(t, v, r, i, want[i])
	}
	if _, err := l.Receipt(ctx, 250); !errors.Is(err, ledger.ErrNotLogged) {
		t.Errorf("Receipt(250) of a log of 250: %v, want ErrNotLogged", err)
	}

	// While the log grows past its first full tile, and Tessera deletes the
	// partial tiles that older checkpoints were proven with, receipts go on
	// verifying: each is proven at a checkpoint whose tiles it could read.
	done := make(chan map[uint64][]byte)
	go func() { done <- addAll(t, l, 250, 300, 2) }()
	deadline := time.After(30 * time.Second)
	for n := 0; ; n++ {
		select {
		case more := <-done:
			for i, e := range more {
				want[i] = e
			}
			if _, err := l.WaitPublished(ctx, 550); err != nil {
				t.Fatal(err)
			}
			for _, i := range []uint64{0, 255, 256, 300, 549} {
				r, err := l.Receipt(ctx, i)
				if err != nil {
					t.Fatalf("Receipt(%d): %v", i, err)
				}
				checkReceipt(t, v, r, i, want[i])
			}
			t.Logf("%d receipts while the log grew", n)
			return
		case <-deadline:
			t.Fatal("adding 300 entries took over 30s")
		case <-time.After(time.Millisecond):
		}
		i := uint64(n*37) % 250
		r, err := l.Receipt(ctx, i)
		if err != nil {
			t.Fatalf("Receipt(%d) while the log grows: %v", i, err)
		}
		checkReceipt(t, v, r, i, want[i])
	}
}

func TestReceiptNotPublished(t *testing.T) {
	s, v := newKey(t)
	l, err := ledger.Open(t.Context(), ledger.Config{Dir: t.TempDir(), Signer: s, BatchMaxAge: 5 * time.Millisecond, CheckpointInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	ctx := t.Context()
	// A checkpoint is published at most once a second: an entry just added
	// is logged but not yet published. Should a publication fall between
	// Add and Receipt, the next entry shows it.
	for i := 0; ; i++ {
		index, err := l.Add(ctx, entry(i))
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Receipt(ctx, index)
		if err == nil && i < 3 {
			continue
		}
		if !errors.Is(err, ledger.ErrNotPublished) {
			t.Fatalf("Receipt(%d) just after Add: %v, want ErrNotPublished", index, err)
		}
		if _, err := l.WaitPublished(ctx, index+1); err != nil {
			t.Fatal(err)
		}
		r, err := l.Receipt(ctx, index)
		if err != nil {
			t.Fatalf("Receipt(%d) once published: %v", index, err)
		}
		checkReceipt(t, v, r, index, entry(i))
		return
	}
}

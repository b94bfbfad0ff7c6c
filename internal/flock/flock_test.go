package flock

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestLock(t *testing.T) {
	dir := t.TempDir()
	f, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second Lock in the same process: %v, want ErrLocked", err)
	}
	f.Close()
	g, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after the first was released: %v", err)
	}
	g.Close()
	if _, err := Lock(filepath.Join(dir, "absent")); err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("Lock of a folder that does not exist: %v", err)
	}
}

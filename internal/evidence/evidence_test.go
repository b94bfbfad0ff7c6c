package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPut(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("photo of a crater")
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])

	for _, tc := range []struct {
		name string
		sum  string
		size int64
		body []byte
	}{
		{"wrong content", sum, int64(len(data)), []byte("photo of a crates")},
		{"short", sum, int64(len(data)) + 1, data},
		{"long", sum, int64(len(data)) - 1, data},
		{"bad name", "ABC", int64(len(data)), data},
	} {
		if err := s.Put(tc.sum, tc.size, bytes.NewReader(tc.body)); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: Put = %v, want ErrMismatch", tc.name, err)
		}
	}
	if s.Has(sum) {
		t.Fatal("a rejected upload was kept")
	}
	if err := s.Put(sum, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	f, err := s.Open(sum)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("got %q, want %q", got, data)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Join(s.dir, sum[:2]))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".upload") {
			t.Errorf("left %s", e.Name())
		}
	}
	if _, err := s.Open(strings.Repeat("0", 64)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of a missing file = %v", err)
	}
	if _, err := s.Open("../../etc/passwd"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of a path = %v", err)
	}
}

func TestPutAgain(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("statement of a witness")
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	if err := s.Put(sum, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(sum, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("the same file again: %v", err)
	}
	if err := s.Put(sum, int64(len(data)), bytes.NewReader([]byte("statement of a witnesz"))); !errors.Is(err, ErrMismatch) {
		t.Fatalf("other bytes under a stored name: %v, want ErrMismatch", err)
	}
}

package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truce-mechanism/truce/internal/server"
)

// TestAuditFollow follows a real server's log with truce audit --follow:
// it prints each checkpoint it accepts, and when the checkpoint is
// altered it prints the problem, POSTs the report to the webhook and
// exits 1.
func TestAuditFollow(t *testing.T) {
	dir := t.TempDir()
	info, err := server.Init(dir, "truce.example/follow-cli")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(context.Background(), server.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	if _, err := srv.Ledger.WaitPublished(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var posted []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted = append(posted, string(b))
		mu.Unlock()
	}))
	defer hook.Close()

	var stdout, stderr syncBuffer
	mirror := t.TempDir()
	code := make(chan int, 1)
	go func() {
		code <- run(context.Background(), []string{"audit", "--follow", "--server", ts.URL, "--log-key", info.LogKey,
			"--data", mirror, "--interval", "20ms", "--webhook", hook.URL}, nil, &stdout, &stderr)
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout.String(), "accepted size 0"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint accepted in 10s; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	}
	// Alter the served checkpoint's root hash.
	name := filepath.Join(dir, "log", "checkpoint")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b[bytes.LastIndex(b[:bytes.Index(b, []byte("\n\n"))], []byte("\n"))+3] ^= 1
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 1 {
			t.Errorf("exit status %d, want 1", c)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("truce audit --follow did not stop on an altered checkpoint")
	}
	for _, want := range []string{"1 problem:", "signature by the log key", "does not verify"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "truce: error: the follower found 1 problem") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posted) != 1 || !strings.Contains(posted[0], `"kind":"checkpoint"`) {
		t.Errorf("the webhook got %q", posted)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

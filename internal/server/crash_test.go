package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/audit"
	"github.com/truce-mechanism/truce/internal/state"
	"github.com/truce-mechanism/truce/internal/store"
)

// TestMain lets the test binary double as a server process, so that the
// crash test can kill a real server with SIGKILL.
func TestMain(m *testing.M) {
	if dir := os.Getenv("TRUCE_TEST_SERVE"); dir != "" {
		serveForCrashTest(dir)
		return
	}
	os.Exit(m.Run())
}

func serveForCrashTest(dir string) {
	ctx := context.Background()
	srv, err := Open(ctx, Config{Dir: dir, BatchMaxAge: 5 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = Serve(ctx, "127.0.0.1:0", srv.Handler(), func(addr string) { fmt.Printf("listening %s\n", addr) })
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

type serverProcess struct {
	cmd  *exec.Cmd
	addr string
}

func startServerProcess(t *testing.T, dir string) *serverProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TRUCE_TEST_SERVE="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("server process did not start: %v", err)
	}
	return &serverProcess{cmd: cmd, addr: strings.TrimSpace(strings.TrimPrefix(line, "listening "))}
}

func (p *serverProcess) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// TestCrash kills a server with SIGKILL while clients append, many times
// over, and checks that no acknowledged statement is lost and that the
// projection agrees with a fresh replay of the log.
func TestCrash(t *testing.T) {
	rounds := 8
	if testing.Short() {
		rounds = 2
	}
	dir := t.TempDir()
	if _, err := Init(dir, testOrigin); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, now: time.Now().UTC()}
	acked := map[uint64]string{} // index → statement id
	var mu sync.Mutex

	p := startServerProcess(t, dir)
	code, res := postTo(p.addr, f.envelope("tr-1", truce.TypeCharter, charter(), "af-1", "pk-1", "qa-1"))
	if code != 201 {
		p.kill()
		t.Fatalf("charter: %d %v", code, res)
	}
	p.kill()

	for round := 0; round < rounds; round++ {
		p := startServerProcess(t, dir)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for c := 0; c < 8; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					mu.Lock()
					env := f.envelope("mon-1", truce.TypeIncident, incident())
					id := fmt.Sprintf("st-%d", f.n)
					mu.Unlock()
					code, res := postTo(p.addr, env)
					if code == 201 {
						mu.Lock()
						acked[uint64(res["index"].(float64))] = id
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(150+round*37%200) * time.Millisecond)
		p.kill()
		cancel()
		wg.Wait()
	}
	if len(acked) < rounds {
		t.Fatalf("only %d statements acknowledged in %d rounds", len(acked), rounds)
	}

	// Every acknowledged statement is in the log at its index, and the
	// projection, caught up on open, agrees with a fresh replay.
	srv, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	ctx := context.Background()
	size, _ := srv.Ledger.Size(ctx)
	for idx, id := range acked {
		if idx >= size {
			t.Fatalf("acknowledged index %d is beyond the log's size %d", idx, size)
		}
		raw, err := srv.Ledger.Entries(ctx, idx, idx+1)
		if err != nil {
			t.Fatal(err)
		}
		e := state.ParseLogEntry(raw[0])
		if e.Statement == nil || e.Statement.ID != id {
			t.Fatalf("log index %d holds %v, acknowledged as %s", idx, e.Statement, id)
		}
		v, err := srv.Store.Verdict(ctx, idx)
		if err != nil || !v.Accepted {
			t.Fatalf("projection verdict at %d: %+v, %v", idx, v, err)
		}
	}
	compareWithReplay(t, srv)

	// And an independent audit over HTTP agrees with the server.
	if _, err := srv.Ledger.WaitPublished(ctx, size); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	report, err := audit.Run(ctx, audit.Config{Server: ts.URL, LogKey: srv.Info.LogKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Problems) > 0 || report.Entries != size {
		t.Fatalf("audit after the crashes: %d entries, problems %v", report.Entries, report.Problems)
	}
	t.Logf("%d rounds, %d acknowledged statements, log size %d", rounds, len(acked), size)
}

func postTo(addr string, env []byte) (int, map[string]any) {
	resp, err := http.Post("http://"+addr+"/v1/statements", "application/json", bytes.NewReader(env))
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// compareWithReplay folds the whole log afresh and checks that the
// projection holds the same verdicts, subjects, charters and compliance.
func compareWithReplay(t *testing.T, srv *Server) {
	t.Helper()
	ctx := context.Background()
	size, err := srv.Ledger.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := state.New(srv.Info.Origin)
	var verdicts []state.Verdict
	for from := uint64(0); from < size; from += 1000 {
		raw, err := srv.Ledger.Entries(ctx, from, min(size, from+1000))
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range raw {
			verdicts = append(verdicts, st.Apply(from+uint64(i), state.ParseLogEntry(b), nil))
		}
	}
	next, _, err := srv.Store.Progress(ctx)
	if err != nil || next != size {
		t.Fatalf("projection at %d (%v), log size %d", next, err, size)
	}
	for i, v := range verdicts {
		got, err := srv.Store.Verdict(ctx, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		if got.Accepted != v.Accepted {
			t.Fatalf("verdict %d: projection %v, replay %v (%v)", i, got.Accepted, v.Accepted, v.Err)
		}
	}
	for _, s := range st.Subjects() {
		row, err := srv.Store.Subject(ctx, s.Kind, s.ID)
		if err != nil {
			t.Fatalf("subject %s: %v", s.ID, err)
		}
		if want := state.MarshalCanonical(s); !bytes.Equal(row.Doc, want) {
			t.Fatalf("subject %s differs:\nprojection %s\nreplay     %s", s.ID, row.Doc, want)
		}
	}
	n := 0
	if err := srv.Store.AllSubjects(ctx, func(*store.Subject) error { n++; return nil }); err != nil || n != len(st.Subjects()) {
		t.Fatalf("projection has %d subjects, replay %d (%v)", n, len(st.Subjects()), err)
	}
	if doc, err := srv.Store.Document(ctx, "compliance"); err == nil {
		if want := state.MarshalCanonical(st.Compliance()); !bytes.Equal(doc, want) {
			t.Fatalf("compliance differs:\n%s\n%s", doc, want)
		}
	}
	cs, _ := srv.Store.Charters(ctx)
	if len(cs) != len(st.Charters()) {
		t.Fatalf("projection has %d charters, replay %d", len(cs), len(st.Charters()))
	}
}

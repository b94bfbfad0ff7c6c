package demo_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/demo"
	"github.com/truce-mechanism/truce/internal/server"
	"github.com/truce-mechanism/truce/internal/state"
)

// testConfig is a smaller history than the default, to keep tests fast;
// it still has every status.
func testConfig() demo.Config {
	return demo.Config{Seed: 7, End: time.Date(2025, 12, 1, 12, 0, 0, 0, time.UTC), Scale: 0.2}
}

func generate(t *testing.T, dir string, cfg demo.Config) *demo.Summary {
	t.Helper()
	sum, err := demo.Generate(t.Context(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// open opens the mechanism in dir, and closes it at the end of the test.
func open(t *testing.T, dir string) *server.Server {
	t.Helper()
	srv, err := server.Open(t.Context(), server.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// logOf reads every entry of the log in dir, and the tree its checkpoint
// commits to (the checkpoint's body: origin, size and root hash).
func logOf(t *testing.T, dir string) (entries [][]byte, tree string) {
	t.Helper()
	srv, err := server.Open(t.Context(), server.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	size, err := srv.Ledger.Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	entries, err = srv.Ledger.Entries(t.Context(), 0, size)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := srv.Ledger.Checkpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	body, _, ok := strings.Cut(string(cp), "\n\n")
	if !ok {
		t.Fatalf("checkpoint %q has no signatures", cp)
	}
	return entries, body
}

func TestGenerateIsDeterministic(t *testing.T) {
	cfg := testConfig()
	a, b := t.TempDir(), t.TempDir()
	generate(t, a, cfg)
	generate(t, b, cfg)
	ea, ta := logOf(t, a)
	eb, tb := logOf(t, b)
	if len(ea) != len(eb) {
		t.Fatalf("the two logs have %d and %d entries", len(ea), len(eb))
	}
	for i := range ea {
		if !bytes.Equal(ea[i], eb[i]) {
			t.Fatalf("entry %d differs:\n%.200s\n%.200s", i, ea[i], eb[i])
		}
	}
	if ta != tb {
		t.Errorf("the checkpoints commit to different trees:\n%s\n%s", ta, tb)
	}
	for _, name := range []string{"mechanism.json", "log.key", "keys/tr-1.pem", "keys/mon-7.pem"} {
		fa, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		fb, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fa, fb) {
			t.Errorf("%s differs between the two generations", name)
		}
	}

}

func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	start := time.Now()
	sum := generate(t, dir, testConfig())
	t.Logf("generated %d entries in %v", sum.Entries, time.Since(start))
	entries, _ := logOf(t, dir)
	if len(entries) != sum.Entries {
		t.Fatalf("the log has %d entries, the summary says %d", len(entries), sum.Entries)
	}

	// Replayed from the log by a fresh fold, as an auditor would.
	st := state.New(demo.Origin)
	for i, b := range entries {
		if v := st.Apply(uint64(i), state.ParseLogEntry(b), nil); !v.Accepted {
			t.Fatalf("entry %d rejected: %v\n%.300s", i, v.Err, b)
		}
	}

	t.Run("statuses", func(t *testing.T) {
		questions, incidents := map[string]int{}, map[string]int{}
		uncounted, late, replaced := 0, 0, 0
		for _, sub := range st.Subjects() {
			if sub.Kind == "incident" {
				incidents[sub.Status()]++
			}
			for _, q := range sub.Questions {
				questions[q.Status]++
				for _, v := range q.Votes {
					if !v.Counted {
						uncounted++
					}
					if len(v.Replaced) > 0 {
						replaced++
					}
				}
			}
			for _, r := range sub.Replies {
				if r.Late {
					late++
				}
			}
		}
		for _, s := range []string{state.StatusDecided, state.StatusDisputed, state.StatusOpen, state.StatusAwaitingReply, state.StatusWithdrawn} {
			if questions[s] == 0 {
				t.Errorf("no question is %s (questions by status: %v)", s, questions)
			}
			if incidents[s] == 0 {
				t.Errorf("no incident is %s (incidents by status: %v)", s, incidents)
			}
		}
		if uncounted == 0 || late == 0 || replaced == 0 {
			t.Errorf("got %d uncounted votes, %d late replies, %d replacing votes; want some of each", uncounted, late, replaced)
		}
		if got := len(st.Charters()); got != 2 {
			t.Errorf("got %d charter versions, want 2", got)
		}
		if got := sum.Questions; !equalCounts(got, questions) {
			t.Errorf("summary counts questions %v, the fold %v", got, questions)
		}
	})

	t.Run("served", func(t *testing.T) {
		srv := open(t, dir)
		ts := httptest.NewServer(srv.Handler())
		defer ts.Close()

		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		getJSON(t, ts.URL+"/v1/incidents?limit=20", &list)
		if len(list.Items) == 0 {
			t.Fatal("GET /v1/incidents has no items")
		}

		var ev *state.EvidenceRecord
		srv.Mechanism.Read(func(st *state.State) {
			for _, sub := range st.Subjects() {
				if len(sub.Evidence) > 0 {
					e := sub.Evidence[0]
					ev = &e
					return
				}
			}
		})
		if ev == nil {
			t.Fatal("no subject has evidence")
		}
		resp, err := http.Get(ts.URL + "/v1/evidence/" + ev.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/evidence/%s: %s %s", ev.SHA256, resp.Status, body)
		}
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); got != ev.SHA256 || int64(len(body)) != ev.Size {
			t.Errorf("evidence file hashes to %s with %d bytes, want %s with %d", got, len(body), ev.SHA256, ev.Size)
		}
		if !bytes.Contains(body, []byte("SIMULATED")) {
			t.Errorf("evidence file %s does not say it is simulated:\n%s", ev.Name, body)
		}
	})

	t.Run("keys", func(t *testing.T) {
		c := st.Charter()
		keys := map[string]string{} // base64 public key → member
		for _, m := range c.Members {
			for _, k := range m.Keys {
				keys[k] = m.ID
			}
		}
		files, err := filepath.Glob(filepath.Join(dir, demo.KeysDir, "*.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(c.Members) {
			t.Errorf("got %d key files, want one for each of the %d members", len(files), len(c.Members))
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			key, err := truce.ParsePrivateKey(b)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			id := strings.TrimSuffix(filepath.Base(f), ".pem")
			if got := keys[truce.EncodePublicKey(key.Public().(ed25519.PublicKey))]; got != id {
				t.Errorf("%s holds the key of member %q in the charter, want %q", f, got, id)
			}
			if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, %v; want 0600", f, fi.Mode().Perm(), err)
			}
		}
	})

	t.Run("reopen", func(t *testing.T) {
		d, err := demo.Open(t.Context(), dir, demo.Config{Seed: 99})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(context.Background())
		if d.Generated {
			t.Error("Open generated a new demo over an existing one")
		}
		if d.Summary.Seed != testConfig().Seed || d.Summary.Entries != sum.Entries {
			t.Errorf("reopened summary has seed %d and %d entries, want %d and %d", d.Summary.Seed, d.Summary.Entries, testConfig().Seed, sum.Entries)
		}
		size, err := d.Server.Ledger.Size(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if size != uint64(sum.Entries) {
			t.Errorf("log size after reopening is %d, want %d", size, sum.Entries)
		}
		ex := d.Example()
		if ex == nil {
			t.Fatal("no example statement")
		}
		if _, err := os.Stat(ex.KeyFile); err != nil {
			t.Errorf("example key file: %v", err)
		}
		// The example is accepted, as the demo's output promises.
		var s truce.Statement
		if err := json.Unmarshal(ex.Statement, &s); err != nil {
			t.Fatal(err)
		}
		s.ID, s.Time = "example-1", time.Now().UTC().Truncate(time.Second)
		b, _ := os.ReadFile(ex.KeyFile)
		key, _ := truce.ParsePrivateKey(b)
		env, err := truce.SignStatement(&s, nil, key)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := env.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		res := d.Server.Mechanism.Submit(t.Context(), [][]byte{raw})[0]
		if res.Err != nil || !res.Verdict.Accepted {
			t.Errorf("the example statement was refused: %v %v", res.Err, res.Verdict.Err)
		}
	})
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestGenerateRefusesAFolderInUse(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(t.Context(), dir, testConfig()); !errors.Is(err, demo.ErrNotEmpty) {
		t.Errorf("Generate in a folder with a file: got %v, want ErrNotEmpty", err)
	}
	if _, err := demo.Open(t.Context(), dir, testConfig()); !errors.Is(err, demo.ErrNotEmpty) {
		t.Errorf("Open of a folder with a file: got %v, want ErrNotEmpty", err)
	}
	if b, err := os.ReadFile(other); err != nil || string(b) != "mine" {
		t.Errorf("the folder's file was changed: %q, %v", b, err)
	}

	// A mechanism that is not a demo is not served as one.
	real := t.TempDir()
	if _, err := server.Init(real, "truce.example/real"); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Open(t.Context(), real, testConfig()); !errors.Is(err, demo.ErrNotDemo) {
		t.Errorf("Open of a real mechanism: got %v, want ErrNotDemo", err)
	}
}

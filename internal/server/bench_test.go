package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/ledger"
)

// BenchmarkAppend measures sustained appends of signed statements over
// HTTP, in batches, each signature verified, the projection kept current
// and every statement durable before its answer; and, in the same run,
// raw Tessera POSIX appends of entries of the same size as the baseline.
//
//	go test -run '^$' -bench Append -benchtime 100000x ./internal/server/
func BenchmarkAppend(b *testing.B) {
	// The load: clients each posting batches of batch envelopes, one at a
	// time. TRUCE_BENCH_CLIENTS and TRUCE_BENCH_BATCH change it.
	clients, batch := envInt("TRUCE_BENCH_CLIENTS", 4), envInt("TRUCE_BENCH_BATCH", 250)
	b.Run("http", func(b *testing.B) {
		dir := b.TempDir()
		if _, err := Init(dir, testOrigin); err != nil {
			b.Fatal(err)
		}
		srv, err := Open(context.Background(), Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close(context.Background())
		ts := httptest.NewServer(srv.Handler())
		defer ts.Close()
		f := &fixture{t: &testing.T{}, now: time.Now().UTC()}
		if code, m := postTo(ts.Listener.Addr().String(), f.envelope("tr-1", truce.TypeCharter, charter(), "af-1", "pk-1", "qa-1")); code != 201 {
			b.Fatalf("charter: %d %v", code, m)
		}
		// Sign everything first: signing is the clients' work, not the server's.
		bodies := make([][]byte, 0, b.N/batch+1)
		for n := 0; n < b.N; n += batch {
			envs := make([]json.RawMessage, 0, batch)
			for i := n; i < min(b.N, n+batch); i++ {
				envs = append(envs, f.envelope([]string{"mon-1", "af-1", "pk-1"}[i%3], truce.TypeIncident, incident()))
			}
			body, _ := json.Marshal(map[string]any{"envelopes": envs})
			bodies = append(bodies, body)
		}
		var next atomic.Int64
		var mu sync.Mutex
		var latencies []time.Duration
		var failed atomic.Int64
		b.ResetTimer()
		// TRUCE_BENCH_PROFILE=file profiles the timed part alone (go test's
		// -cpuprofile also covers signing the statements beforehand).
		if name := os.Getenv("TRUCE_BENCH_PROFILE"); name != "" {
			f, err := os.Create(name)
			if err != nil {
				b.Fatal(err)
			}
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		cpu0 := cpuTime()
		start := time.Now()
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(bodies) {
						return
					}
					t0 := time.Now()
					resp, err := http.Post(ts.URL+"/v1/statements", "application/json", bytes.NewReader(bodies[i]))
					if err != nil {
						failed.Add(1)
						continue
					}
					var out struct {
						Results []struct {
							Index *uint64 `json:"index"`
						} `json:"results"`
					}
					json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					for _, r := range out.Results {
						if r.Index == nil {
							failed.Add(1)
						}
					}
					d := time.Since(t0)
					mu.Lock()
					latencies = append(latencies, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		cpu := cpuTime() - cpu0
		b.StopTimer()
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/statement")
		if failed.Load() > 0 {
			b.Fatalf("%d statements failed", failed.Load())
		}
		if got := srv.Mechanism.Next(); got != uint64(b.N)+1 {
			b.Fatalf("state has %d entries, want %d", got, b.N+1)
		}
		sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "statements/s")
		b.ReportMetric(float64(latencies[len(latencies)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Milliseconds()), "p99-ms")
	})
	b.Run("tessera", func(b *testing.B) {
		// The same entry size, straight into the ledger, 1024 writers.
		f := &fixture{t: &testing.T{}, now: time.Now().UTC()}
		env, _ := truce.ParseEnvelope(f.envelope("mon-1", truce.TypeIncident, incident()))
		entry, _ := truce.MarshalEntry(f.now, env)
		skey, _, _ := ledger.GenerateKey(testOrigin)
		signer, _ := ledger.NewSigner(skey)
		l, err := ledger.Open(context.Background(), ledger.Config{Dir: b.TempDir(), Signer: signer})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close(context.Background())
		var next atomic.Int64
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < 1024; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					if _, err := l.Add(context.Background(), entry); err != nil {
						panic(fmt.Sprint(err))
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
		b.ReportMetric(float64(len(entry)), "entry-bytes")
	})
}

// cpuTime is the CPU time this process has used, in user and system mode:
// the server and its load generator together.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

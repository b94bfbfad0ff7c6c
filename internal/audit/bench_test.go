package audit_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/audit"
	"github.com/truce-mechanism/truce/internal/ledger"
	"github.com/truce-mechanism/truce/internal/server"
)

// benchSize is the number of statements in the benchmarks' log; the
// environment variable TRUCE_AUDIT_BENCH_SIZE overrides it.
const benchSize = 100_000

func benchEntries(b *testing.B) int {
	if s := os.Getenv("TRUCE_AUDIT_BENCH_SIZE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 6 {
			b.Fatalf("TRUCE_AUDIT_BENCH_SIZE=%q: want a number of at least 6", s)
		}
		return n
	}
	return benchSize
}

// buildLog writes a log of about n statements straight through the
// ledger of a new mechanism in f's folder, as a server would have logged
// them: a charter, then rounds of incidents, each followed by two
// mediators' votes on whether it occurred and where it came from, a
// round's reply windows closing at the next round. Statements within a
// phase of a round are added concurrently, so that Tessera batches them;
// phases are added in order, since votes must follow their incident.
func buildLog(tb testing.TB, dir string, n int) {
	tb.Helper()
	ctx := context.Background()
	skey, err := os.ReadFile(filepath.Join(dir, "log.key"))
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := ledger.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		tb.Fatal(err)
	}
	l, err := ledger.Open(ctx, ledger.Config{Dir: filepath.Join(dir, "log"), Signer: signer, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC)
	keys := map[string]ed25519.PrivateKey{}
	for _, m := range testMembers {
		keys[m.id] = testKey(m.id)
	}
	sign := func(id, author, typ string, body any, at time.Time, cosigners ...string) []byte {
		st := &truce.Statement{Type: typ, ID: id, Mechanism: testOrigin, Author: author, Time: at}
		env, err := truce.SignStatement(st, body, keys[author])
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range cosigners {
			env.Sign(keys[c])
		}
		e, err := truce.MarshalEntry(at, env)
		if err != nil {
			tb.Fatal(err)
		}
		return e
	}
	// add makes count entries with gen and adds them, concurrently.
	add := func(count int, gen func(i int) []byte) {
		next := feed(generate(count, gen))
		var wg sync.WaitGroup
		for range 512 {
			wg.Go(func() {
				for e := range next {
					if _, err := l.Add(ctx, e); err != nil {
						tb.Error(err)
					}
				}
			})
		}
		wg.Wait()
	}
	add(1, func(int) []byte {
		return sign("charter", "tr-1", truce.TypeCharter, charter("72h"), start, charterSigners...)
	})
	const perRound = 1000
	reporters := []string{"af-1", "pk-1", "mon-1"}
	origins := []string{"PK", "AF", "PK"}
	againsts := []string{"AF", "PK", "AF"}
	incidents := (n - 1) / 5
	for round := 0; round*perRound < incidents; round++ {
		at := start.Add(time.Duration(round) * 80 * time.Hour)
		count := min(perRound, incidents-round*perRound)
		add(count, func(i int) []byte {
			k := (round*perRound + i) % 3
			return sign(fmt.Sprintf("inc-%d-%d", round, i), reporters[k], truce.TypeIncident, incident(origins[k], againsts[k]), at.Add(time.Duration(i)*time.Millisecond))
		})
		votesAt := at.Add(73 * time.Hour)
		add(4*count, func(i int) []byte {
			inc, which := i/4, i%4
			q, answer := "occurred", "yes"
			if which >= 2 {
				q, answer = "origin", origins[(round*perRound+inc)%3]
			}
			return sign(fmt.Sprintf("vote-%d-%d-%d", round, inc, which), []string{"tr-1", "qa-1"}[which%2], truce.TypeAssessment,
				vote(fmt.Sprintf("inc-%d-%d", round, inc), q, answer, ""), votesAt.Add(time.Duration(i)*time.Millisecond))
		})
	}
	size, err := l.Size(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := l.WaitPublished(ctx, size); err != nil {
		tb.Fatal(err)
	}
	if err := l.Close(ctx); err != nil {
		tb.Fatal(err)
	}
}

// generate calls gen for 0..count-1 on every core.
func generate(count int, gen func(i int) []byte) [][]byte {
	out := make([][]byte, count)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < count; i += workers {
				out[i] = gen(i)
			}
		})
	}
	wg.Wait()
	return out
}

// feed hands entries out on a channel.
func feed(entries [][]byte) <-chan []byte {
	c := make(chan []byte)
	go func() {
		defer close(c)
		for _, e := range entries {
			c <- e
		}
	}()
	return c
}

// BenchmarkAudit audits a served mechanism of benchSize statements over
// loopback HTTP, and reports entries/s and, as verify-ratio, that rate
// over what ed25519.Verify alone manages on every core (measured here as
// BenchmarkVerify does). Building and serving the log is not timed.
//
//	go test -run x -bench Audit -benchtime 1x ./internal/audit/
func BenchmarkAudit(b *testing.B) {
	n := benchEntries(b)
	f := newBenchFixture(b, n)
	verifyRate := ed25519Rate()
	b.ResetTimer()
	// TRUCE_BENCH_PROFILE=file profiles the audits alone (go test's
	// -cpuprofile also covers building and opening the log).
	if name := os.Getenv("TRUCE_BENCH_PROFILE"); name != "" {
		pf, err := os.Create(name)
		if err != nil {
			b.Fatal(err)
		}
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuTime()
	var r *audit.Report
	for b.Loop() {
		var err error
		r, err = audit.Run(context.Background(), audit.Config{Server: f.ts.URL, LogKey: f.info.LogKey})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Problems) > 0 {
			b.Fatalf("%d problems:%s", len(r.Problems), problems(r))
		}
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	// CPU time varies far less than wall time on a shared machine; it
	// counts the in-process server's share too.
	b.ReportMetric(float64(cpu.Microseconds())/float64(r.Entries)/float64(b.N), "cpu-µs/entry")
	perSecond := float64(r.Entries) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(perSecond, "entries/s")
	b.ReportMetric(perSecond/(verifyRate*float64(runtime.GOMAXPROCS(0))), "verify-ratio")
	b.ReportMetric(r.ReplaySeconds, "replay-s")
	b.ReportMetric(r.Seconds-r.ReplaySeconds, "compare-s")
	b.Logf("%d entries, %d signatures, %.0f entries/s; ed25519.Verify %.0f/s per core on %d cores",
		r.Entries, r.Signatures, perSecond, verifyRate, runtime.GOMAXPROCS(0))
}

// newBenchFixture builds a log of about n statements and serves it: the
// server catches up with the log when it opens. With the environment
// variable TRUCE_AUDIT_BENCH_DIR set, the mechanism is built in that
// folder, or reused from it, so that runs after the first (profiling,
// say) time and profile the audit alone.
func newBenchFixture(b *testing.B, n int) *fixture {
	b.Helper()
	dir := os.Getenv("TRUCE_AUDIT_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	start := time.Now()
	info, err := server.ReadInfo(dir)
	if err != nil {
		if info, err = server.Init(dir, testOrigin); err != nil {
			b.Fatal(err)
		}
		buildLog(b, dir, n)
	}
	logged := time.Since(start)
	f := &fixture{t: b, dir: dir, info: info}
	f.now.Store(time.Now().UnixMilli())
	f.open()
	b.Logf("built the log in %v, the server caught up in %v", logged.Round(time.Millisecond), (time.Since(start) - logged).Round(time.Millisecond))
	return f
}

// ed25519Rate measures ed25519.Verify's rate on one core, for a second,
// on what BenchmarkVerify verifies. (testing.Benchmark cannot run inside
// a benchmark.)
func ed25519Rate() float64 {
	pub, msg, sig := verifyInput()
	start := time.Now()
	n := 0
	for time.Since(start) < time.Second {
		for range 100 {
			ed25519.Verify(pub, msg, sig)
		}
		n += 100
	}
	return float64(n) / time.Since(start).Seconds()
}

// verifyInput is a signature on a message the size of a typical
// statement's PAE.
func verifyInput() (ed25519.PublicKey, []byte, []byte) {
	key := testKey("tr-1")
	msg := truce.PAE(truce.PayloadType, make([]byte, 700))
	return key.Public().(ed25519.PublicKey), msg, ed25519.Sign(key, msg)
}

// BenchmarkVerify is ed25519.Verify alone, on one core: the rate an audit
// is measured against.
func BenchmarkVerify(b *testing.B) {
	pub, msg, sig := verifyInput()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// BenchmarkVerifyParallel is ed25519.Verify on every core at once: how
// far the machine's cores scale, which bounds what an audit can reach.
func BenchmarkVerifyParallel(b *testing.B) {
	pub, msg, sig := verifyInput()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Error("signature does not verify")
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// cpuTime is the CPU time this process has used, in user and system mode.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

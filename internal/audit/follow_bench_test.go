package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/audit"
)

// BenchmarkFollow has a follower keep up with a real server on loopback
// that takes signed batches of 100 votes as fast as it can, for
// TRUCE_FOLLOW_BENCH_ENTRIES entries (20,000 by default), the follower
// polling every TRUCE_FOLLOW_BENCH_INTERVAL (500ms by default). It
// reports the server's append rate, the follower's rate, and how far
// behind the follower was at each checkpoint it accepted: in entries (the
// server's size then, less the accepted size) and in seconds (since the
// server acknowledged the last entry of the accepted size).
func BenchmarkFollow(b *testing.B) {
	total := 20_000
	if s := os.Getenv("TRUCE_FOLLOW_BENCH_ENTRIES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 {
			b.Fatalf("TRUCE_FOLLOW_BENCH_ENTRIES=%q: want a number of at least 100", s)
		}
		total = n
	}
	interval := 500 * time.Millisecond
	if s := os.Getenv("TRUCE_FOLLOW_BENCH_INTERVAL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		interval = d
	}
	for range b.N {
		f := newFixture(b)
		f.post(f.envelope("", "tr-1", truce.TypeCharter, charter("72h"), charterSigners...))
		f.post(f.envelope("inc-1", "af-1", truce.TypeIncident, incident("PK", "AF")))
		start := f.settle()
		// Signed before the clock starts: signing is the clients' work.
		var batches [][]byte
		for sent := 0; sent < total; {
			var envs []json.RawMessage
			for i := 0; i < 100 && sent < total; i, sent = i+1, sent+1 {
				e, _ := f.envelope("", []string{"tr-1", "qa-1"}[sent%2], truce.TypeAssessment, vote("inc-1", "occurred", []string{"yes", "no"}[sent/2%2], "")).MarshalJSON()
				envs = append(envs, e)
			}
			body, _ := json.Marshal(map[string]any{"envelopes": envs})
			batches = append(batches, body)
		}

		type mark struct {
			at   time.Time
			size uint64
		}
		var mu sync.Mutex
		var acks, accepts []mark
		var behind []uint64
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		var rep *audit.Report
		var ferr error
		began := time.Now()
		go func() {
			defer close(done)
			rep, ferr = audit.Follow(ctx, audit.FollowConfig{
				Config:   audit.Config{Server: f.ts.URL, LogKey: f.info.LogKey},
				Dir:      b.TempDir(),
				Interval: interval,
				Accepted: func(s audit.Status) {
					now := time.Now()
					size, _ := f.srv.Ledger.Size(ctx)
					mu.Lock()
					accepts = append(accepts, mark{now, s.Size})
					behind = append(behind, size-min(size, s.Size))
					mu.Unlock()
				},
			})
		}()
		b.ResetTimer()
		for _, body := range batches {
			resp, err := http.Post(f.ts.URL+"/v1/statements", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			var r struct {
				Results []struct {
					Index *uint64 `json:"index"`
				} `json:"results"`
			}
			json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || len(r.Results) == 0 || r.Results[len(r.Results)-1].Index == nil {
				b.Fatalf("POST a batch: %s", resp.Status)
			}
			mu.Lock()
			acks = append(acks, mark{time.Now(), *r.Results[len(r.Results)-1].Index + 1})
			mu.Unlock()
		}
		appended := time.Since(began)
		final := f.settle()
		for {
			mu.Lock()
			n := len(accepts)
			caught := n > 0 && accepts[n-1].size >= final
			mu.Unlock()
			if caught {
				break
			}
			select {
			case <-done:
				b.Fatalf("the follower stopped: %v%s", ferr, reportProblems(rep))
			case <-time.After(10 * time.Millisecond):
			}
		}
		caughtUp := time.Since(began)
		b.StopTimer()
		cancel()
		<-done
		if ferr != nil || len(rep.Problems) > 0 {
			b.Fatalf("the follower: %v%s", ferr, reportProblems(rep))
		}

		// Lag at each checkpoint accepted while the server was taking
		// statements.
		var maxEntries uint64
		var sumEntries float64
		var maxSecs, sumSecs float64
		n := 0
		for i, a := range accepts {
			if a.size <= start || a.at.After(acks[len(acks)-1].at) {
				continue
			}
			// When the server had acknowledged the accepted size.
			var acked time.Time
			for _, k := range acks {
				if k.size >= a.size {
					acked = k.at
					break
				}
			}
			secs := a.at.Sub(acked).Seconds()
			n++
			sumEntries += float64(behind[i])
			sumSecs += secs
			maxEntries = max(maxEntries, behind[i])
			maxSecs = max(maxSecs, secs)
		}
		entries := float64(final - start)
		b.ReportMetric(entries/appended.Seconds(), "appended/s")
		b.ReportMetric(entries/caughtUp.Seconds(), "followed/s")
		b.ReportMetric((caughtUp - appended).Seconds(), "s-to-catch-up")
		if n > 0 {
			b.ReportMetric(sumEntries/float64(n), "mean-entries-behind")
			b.ReportMetric(float64(maxEntries), "max-entries-behind")
			b.ReportMetric(sumSecs/float64(n), "mean-s-behind")
			b.ReportMetric(maxSecs, "max-s-behind")
		}
		b.ReportMetric(float64(n), "checkpoints")
	}
}

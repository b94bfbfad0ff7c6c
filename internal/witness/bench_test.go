package witness

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// BenchmarkCosign is one witness cosigning one log's checkpoints over HTTP
// on loopback, one after another as a log sends them: each grows the tree
// by 16 entries, carries its consistency proof from the one before, and is
// answered only once the witness's state is on disk (two fsyncs). The
// checkpoints are signed before the clock starts: that is the log's work.
func BenchmarkCosign(b *testing.B) {
	const step = 16
	l := newTestLog(b, "log.test/bench")
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = l.request(int64(i*step), int64((i+1)*step))
	}
	tw := newTestWitness(b, l)
	client := &http.Client{}
	b.ResetTimer()
	for _, body := range bodies {
		resp, err := client.Post(tw.srv.URL+"/add-checkpoint", "", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("got status %d (%q), want 200", resp.StatusCode, got)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checkpoints/s")
}

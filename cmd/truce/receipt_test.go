package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyReceiptVector checks the root package's receipt vector, whose
// checkpoint two witnesses cosigned, and altered copies of it, with truce
// verify-receipt.
func TestVerifyReceiptVector(t *testing.T) {
	dir := t.TempDir()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	logKey := strings.TrimSpace(string(read("receipt/log.vkey")))
	receipt := read("receipt/incident.tlog-proof")

	// The charter as GET /v1/charter gives it: the vector charter's body,
	// with the receipt vector's witnesses and policy.
	var payload struct{ Body map[string]any }
	if err := json.Unmarshal(read("vectors/charter/payload.json"), &payload); err != nil {
		t.Fatal(err)
	}
	var witnesses map[string]any
	if err := json.Unmarshal(read("receipt/witnesses.json"), &witnesses); err != nil {
		t.Fatal(err)
	}
	for k, v := range witnesses {
		payload.Body[k] = v
	}
	charter, _ := json.Marshal(payload.Body)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	charterFile := write("charter.json", charter)

	verify := func(file string, args ...string) (code int, stdout, stderr string) {
		var out, errs bytes.Buffer
		args = append([]string{"verify-receipt", "--log-key", logKey}, append(args, file)...)
		code = run(context.Background(), args, nil, &out, &errs)
		return code, out.String(), errs.String()
	}

	code, out, errs := verify(write("good.tlog-proof", receipt), "--charter", charterFile)
	if code != 0 || errs != "" {
		t.Fatalf("the vector: exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		"  witnesses    cosigned by af at 2025-11-10T12:00:05Z, pk at 2025-11-10T12:00:07Z; the policy, all of (af, pk), is met\n",
		"  statement    incident.report 0193b5c2-8a00-7c55-9a1d-5e8f3b2a1c01\n",
		"  author       mon-1; signature verified (key ",
		"  received     2025-11-07T10:00:03.123Z (the log's clock)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the vector: stdout lacks %q:\n%s", want, out)
		}
	}

	lines := strings.SplitAfter(string(receipt), "\n")
	flip := func(line, at int) []byte {
		l := []byte(lines[line])
		l[at] ^= 0x01
		return []byte(strings.Join(lines[:line], "") + string(l) + strings.Join(lines[line+1:], ""))
	}
	drop := func(prefix string) []byte {
		var b strings.Builder
		for _, l := range lines {
			if !strings.HasPrefix(l, prefix) {
				b.WriteString(l)
			}
		}
		return []byte(b.String())
	}
	tests := []struct {
		name    string
		receipt []byte
		error   string
		hint    string
	}{
		{"entry altered", flip(1, 100), "bad receipt: entry not proven in the log: the inclusion proof does not lead to the checkpoint's root", "the file was altered"},
		{"index altered", flip(2, 6), "bad receipt: entry not proven in the log: the inclusion proof does not lead", "the file was altered"},
		{"proof altered", flip(3, 5), "the inclusion proof does not lead to the checkpoint's root", "the file was altered"},
		{"root altered", flip(8, 10), "bad receipt: bad checkpoint: failed to verify signatures on checkpoint: invalid signature for key truce.example/istanbul-2025+", "is --log-key the key"},
		{"log signature altered", flip(10, 40), "bad receipt: bad checkpoint: failed to verify signatures on checkpoint: invalid signature for key truce.example/istanbul-2025+", "is --log-key the key"},
		{"a cosignature dropped", drop("— witness.example/pk "), "checkpoint not witnessed: it is cosigned by af, and the witness policy needs all of (af, pk)", "fetch a newer receipt once the witnesses have cosigned"},
		{"a cosignature altered", flip(11, 50), "bad receipt: bad checkpoint: failed to verify signatures on checkpoint: invalid signature for key witness.example/af+", "is --log-key the key"},
		{"header altered", flip(0, 0), "bad receipt: line 1: not c2sp.org/tlog-proof@v1", "the file was altered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := verify(write("bad.tlog-proof", tt.receipt), "--charter", charterFile)
			if code != 1 || !strings.Contains(out, "does not verify") {
				t.Errorf("exit %d, stdout %q; want 1 and does not verify", code, out)
			}
			if !strings.Contains(errs, "truce: error: ") || !strings.Contains(errs, tt.error) || !strings.Contains(errs, "\ntruce: hint: ") || !strings.Contains(errs, tt.hint) {
				t.Errorf("stderr %q; want the error %q and the hint %q", errs, tt.error, tt.hint)
			}
		})
	}
}

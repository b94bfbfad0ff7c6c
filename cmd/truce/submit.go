package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

func runSubmit(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "submit", "submit [--server URL] FILE...")
	srv := fs.String("server", "http://127.0.0.1:8080", "the mechanism's server")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return withHint(errors.New("give at least one envelope file"), "truce submit --server %s envelope.json", *srv)
	}
	failed := 0
	for _, name := range fs.Args() {
		body, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("cannot read envelope: %w", err)
		}
		results, err := post(ctx, strings.TrimSuffix(*srv, "/")+"/v1/statements", body)
		if err != nil {
			return withHint(err, "is the server running at %s? (truce serve or truce demo)", *srv)
		}
		for i, r := range results {
			label := name
			if len(results) > 1 {
				label = fmt.Sprintf("%s[%d]", name, i)
			}
			switch {
			case r.Error != nil:
				failed++
				fmt.Fprintf(e.stdout, "%s: refused (%d): %s\n", label, r.Error.Code, r.Error.Message)
			case r.Verdict != nil && !r.Verdict.Accepted:
				failed++
				fmt.Fprintf(e.stdout, "%s: logged at index %d but rejected: %s\n", label, *r.Index, r.Verdict.Reason)
			default:
				fmt.Fprintf(e.stdout, "%s: logged at index %d, accepted\n", label, *r.Index)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of the statements were not accepted", failed)
	}
	return nil
}

type submitResult struct {
	Index   *uint64 `json:"index"`
	Verdict *struct {
		Accepted bool   `json:"accepted"`
		Reason   string `json:"reason"`
	} `json:"verdict"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// post sends one envelope or a batch, and returns a result per envelope.
func post(ctx context.Context, url string, body []byte) ([]submitResult, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the server: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot read the server's answer: %w", err)
	}
	var batch struct {
		Results []submitResult `json:"results"`
	}
	if err := json.Unmarshal(b, &batch); err == nil && batch.Results != nil {
		return batch.Results, nil
	}
	var one submitResult
	if err := json.Unmarshal(b, &one); err != nil || (one.Index == nil && one.Error == nil) {
		return nil, fmt.Errorf("unexpected answer from the server (%s): %.200s", resp.Status, b)
	}
	return []submitResult{one}, nil
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
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
	if u, err := neturl.Parse(*srv); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return withHint(fmt.Errorf("--server %s is not an http or https URL", *srv), "give the URL that truce serve printed, such as --server http://127.0.0.1:8080")
	}
	// Every file is read and checked before any is sent, so that a bad
	// file in the list never leaves the ones before it half submitted.
	bodies := make([][]byte, fs.NArg())
	for i, name := range fs.Args() {
		body, err := os.ReadFile(name)
		if err != nil {
			return withHint(fmt.Errorf("cannot read envelope: %w", err), "nothing was submitted")
		}
		if unsigned(body) {
			return withHint(fmt.Errorf("%s is a statement that nobody signed, not an envelope", name), "sign it first: truce sign --key me.pem --out envelope.json %s (nothing was submitted)", name)
		}
		bodies[i] = body
	}
	failed, total := 0, 0
	for i, name := range fs.Args() {
		results, err := post(ctx, strings.TrimSuffix(*srv, "/")+"/v1/statements", bodies[i])
		if err != nil {
			return withHint(err, "is the server running at %s? (truce serve or truce demo)", *srv)
		}
		total += len(results)
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
	switch {
	case failed == 0:
	case total == 1:
		return errors.New("the statement was not accepted")
	case failed == 1:
		return fmt.Errorf("1 of %d statements was not accepted", total)
	default:
		return fmt.Errorf("%d of %d statements were not accepted", failed, total)
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
		// A *url.Error repeats the method and URL, which the hint gives.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
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

// unsigned reports whether b looks like a statement rather than an
// envelope or a batch of them: the server would only say that an
// envelope has no field "type".
func unsigned(b []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) != nil {
		return false
	}
	_, typ := probe["type"]
	_, pt := probe["payloadType"]
	_, batch := probe["envelopes"]
	return typ && !pt && !batch
}

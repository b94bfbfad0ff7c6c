package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/truce-mechanism/truce"
)

const receiptUsage = "receipt [--server URL] [--out FILE] [--wait DURATION] INDEX"

func runReceipt(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "receipt", receiptUsage)
	srv := fs.String("server", "http://127.0.0.1:8080", "the mechanism's server")
	out := fs.String("out", "", "where to write the receipt (default receipt-INDEX.tlog-proof; - for standard output)")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for a published checkpoint that covers the statement")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return withHint(errors.New("give one log index"), "truce receipt --server %s 1 (truce submit prints each statement's index)", *srv)
	}
	index, err := strconv.ParseUint(fs.Arg(0), 10, 63)
	if err != nil {
		return withHint(fmt.Errorf("%q is not a log index", fs.Arg(0)), "a log index is a whole number from 0, as truce submit prints it")
	}
	if u, err := neturl.Parse(*srv); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return withHint(fmt.Errorf("--server %s is not an http or https URL", *srv), "give the URL that truce serve printed, such as --server http://127.0.0.1:8080")
	}
	if *out == "" {
		*out = fmt.Sprintf("receipt-%d.tlog-proof", index)
	}
	url := fmt.Sprintf("%s/v1/statements/%d/receipt", strings.TrimSuffix(*srv, "/"), index)
	body, err := fetchReceipt(ctx, url, *wait)
	if err != nil {
		return err
	}
	r, err := truce.ParseReceipt(body)
	if err != nil {
		return fmt.Errorf("the server's answer is not a receipt: %w", err)
	}
	if *out == "-" {
		_, err := e.stdout.Write(body)
		return err
	}
	if err := os.WriteFile(*out, body, 0o644); err != nil {
		return fmt.Errorf("cannot write the receipt: %w", err)
	}
	size := "?"
	if lines := strings.SplitN(string(r.Checkpoint), "\n", 3); len(lines) == 3 {
		size = lines[1]
	}
	fmt.Fprintf(e.stdout, "wrote %s: statement %d, proven in the checkpoint of size %s\n", *out, r.Index, size)
	fmt.Fprintf(e.stdout, "check it with: truce verify-receipt --log-key KEY --charter CHARTER %s\n", *out)
	return nil
}

// fetchReceipt gets a receipt, waiting up to wait while the server says
// that no published checkpoint covers the statement yet.
func fetchReceipt(ctx context.Context, url string, wait time.Duration) ([]byte, error) {
	deadline := time.Now().Add(wait)
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			var ue *neturl.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, withHint(fmt.Errorf("cannot reach the server: %w", err), "is the server running? (truce serve or truce demo)")
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("cannot read the server's answer: %w", err)
		}
		if resp.StatusCode == http.StatusOK {
			return body, nil
		}
		msg := apiMessage(resp, body)
		switch resp.StatusCode {
		case http.StatusNotFound:
			return nil, withHint(errors.New(msg), "truce submit prints each statement's log index")
		case http.StatusServiceUnavailable:
			pause := 2 * time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				pause = time.Duration(s) * time.Second
			}
			if time.Now().Add(pause).After(deadline) {
				return nil, withHint(errors.New(msg), "try again later, or wait longer with --wait")
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(pause):
			}
			continue
		}
		return nil, fmt.Errorf("the server answered %s: %s", resp.Status, msg)
	}
}

// apiMessage is the message of an API error answer, or its status.
func apiMessage(resp *http.Response, body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return resp.Status
}

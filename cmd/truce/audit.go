package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/truce-mechanism/truce/internal/audit"
)

func runAudit(ctx context.Context, e *env, args []string) error {
	const usage = "audit --server URL --log-key KEY [--json] [--workers N] [--follow --data DIR [--interval D] [--witness URL]... [--webhook URL]]"
	fs := flags(e, "audit", usage)
	srv := fs.String("server", "http://127.0.0.1:8080", "the mechanism's server")
	key := fs.String("log-key", "", "the log's signed-note verifier key, from a source you trust (not the server)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	workers := fs.Int("workers", 0, "goroutines verifying signatures (default: one per core)")
	follow := fs.Bool("follow", false, "keep a verified mirror of the log in --data and audit every new checkpoint, until a fault (exit 1) or an interrupt")
	data := fs.String("data", "", "with --follow: the mirror folder (C2SP tlog-tiles layout, plus follow.json), resumed from when present")
	interval := fs.Duration("interval", audit.DefaultInterval, "with --follow: how long to wait between polls")
	var witnesses stringList
	fs.Var(&witnesses, "witness", "with --follow: a witness's base URL, whose GET /checkpoint?origin= must agree with the log (repeatable)")
	webhook := fs.String("webhook", "", "with --follow: POST the report as JSON to this URL on a fault")
	if err := parse(fs, args); err != nil {
		return err
	}
	lessGC()
	if *key == "" {
		return withHint(errors.New("give the log's verifier key with --log-key"),
			"take it from a source you trust, such as a party's mechanism.json (log_key); the server's /v1/log shows it too, but an audit must not rely on the server it checks")
	}
	if !*follow && (*data != "" || len(witnesses) > 0 || *webhook != "") {
		return withHint(errors.New("--data, --witness and --webhook go with --follow"), "add --follow to keep auditing the log as it grows")
	}
	cfg := audit.Config{
		Server:   *srv,
		LogKey:   *key,
		Workers:  *workers,
		Progress: progress(e, "auditing the log"),
		Logger:   slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if *follow {
		return runFollow(ctx, e, audit.FollowConfig{
			Config: cfg, Dir: *data, Interval: *interval, Witnesses: witnesses, Webhook: *webhook,
		}, *asJSON)
	}
	r, err := audit.Run(ctx, cfg)
	switch {
	case errors.Is(err, audit.ErrLogKey):
		return withHint(err, "a log key reads origin+hash+base64, such as the log_key of a data folder's mechanism.json")
	case err != nil:
		return withHint(fmt.Errorf("cannot audit: %w", err), "is the server running at %s?", *srv)
	}
	if err := writeAuditReport(e.stdout, r, *asJSON); err != nil {
		return err
	}
	if n := len(r.Problems); n > 0 {
		return fmt.Errorf("the audit found %d %s", n, auditPlural(n, "problem", "problems"))
	}
	return nil
}

// runFollow follows the log until a fault or an interrupt, printing a
// line for every checkpoint accepted.
func runFollow(ctx context.Context, e *env, cfg audit.FollowConfig, asJSON bool) error {
	if cfg.Dir == "" {
		return withHint(errors.New("give the mirror's folder with --data"), "the follower keeps the log and its own state there, and resumes from it")
	}
	if !asJSON {
		cfg.Accepted = func(s audit.Status) {
			what := fmt.Sprintf("+%d entries", s.New)
			if s.Resumed {
				what = "resumed from the mirror"
			}
			api := "API compared"
			if !s.Compared {
				api = "API verdicts compared"
			}
			cosigned := ""
			if len(s.Cosigned) > 0 {
				cosigned = ", cosigned by " + strings.Join(s.Cosigned, ", ")
			}
			fmt.Fprintf(e.stdout, "%s accepted size %d, root %s: %s, %s%s\n", time.Now().UTC().Format(time.RFC3339), s.Size, s.Root, what, api, cosigned)
		}
	}
	r, err := audit.Follow(ctx, cfg)
	switch {
	case errors.Is(err, audit.ErrLogKey):
		return withHint(err, "a log key reads origin+hash+base64, such as the log_key of a data folder's mechanism.json")
	case errors.Is(err, audit.ErrFault):
		if werr := writeAuditReport(e.stdout, r, asJSON); werr != nil {
			return werr
		}
		n := len(r.Problems)
		return fmt.Errorf("the follower found %d %s", n, auditPlural(n, "problem", "problems"))
	case err != nil:
		return fmt.Errorf("cannot follow: %w", err)
	}
	return writeAuditReport(e.stdout, r, asJSON)
}

// writeAuditReport prints a report, as JSON or for people.
func writeAuditReport(w io.Writer, r *audit.Report, asJSON bool) error {
	if !asJSON {
		printAuditReport(w, r)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// printAuditReport writes the summary, then every problem on a line.
func printAuditReport(w io.Writer, r *audit.Report) {
	fmt.Fprintf(w, "audited %s at %s\n", r.Origin, r.Server)
	fmt.Fprintf(w, "  checkpoint   size %d, root %s\n", r.Size, r.Root)
	fmt.Fprintf(w, "  entries      %d replayed: %d accepted, %d rejected\n", r.Entries, r.Accepted, r.Rejected)
	fmt.Fprintf(w, "  signatures   %d verified, %d bad, %d by keys no charter lists\n", r.Signatures, r.BadSignatures, r.UnknownKeySignatures)
	fmt.Fprintf(w, "  charter      version %d\n", r.CharterVersion)
	fmt.Fprintf(w, "  incidents    %s\n", auditStatuses(r.Incidents))
	fmt.Fprintf(w, "  actions      %s\n", auditStatuses(r.Actions))
	fmt.Fprintf(w, "  server       %d entries applied when compared\n", r.ServerApplied)
	fmt.Fprintf(w, "  time         %.2fs (log %.2fs), %.0f entries/s\n", r.Seconds, r.ReplaySeconds, r.EntriesPerSecond)
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "no problems: the log verifies, and the server's state is the replay's")
		return
	}
	fmt.Fprintf(w, "%d %s:\n", len(r.Problems), auditPlural(len(r.Problems), "problem", "problems"))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
}

func auditStatuses(m map[string]int) string {
	total := 0
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(m)) {
		total += m[s]
		parts = append(parts, fmt.Sprintf("%s %d", s, m[s]))
	}
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

func auditPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

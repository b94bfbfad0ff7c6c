// Command truce runs and audits a truce monitoring and verification
// mechanism. Each subcommand lives in its own file; the work is done by
// the packages under internal/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"k8s.io/klog/v2"
)

func main() {
	// Tessera logs through klog, a process-wide logger; only its warnings
	// and errors concern users, and they go to standard error.
	klog.SetSlogLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a subcommand may use of the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	name, usage, summary string
	run                  func(ctx context.Context, e *env, args []string) error
}

var commands = []command{
	{"init", "init --data DIR --origin ORIGIN", "make a new mechanism: a log key and a data folder", runInit},
	{"keygen", "keygen --out FILE", "make a member key: writes the private key, prints the public key", runKeygen},
	{"sign", "sign --key FILE [--out FILE] [FILE]", "sign a statement, or co-sign an envelope", runSign},
	{"submit", "submit [--server URL] FILE...", "submit signed envelopes to a server", runSubmit},
	{"serve", "serve --data DIR [--addr HOST:PORT] [--secure-cookies]", "serve a mechanism", runServe},
	{"audit", "audit --server URL --log-key KEY [--follow --data DIR]", "fetch and verify the whole log, replay it, and compare with the server; --follow keeps at it", runAudit},
	{"receipt", receiptUsage, "fetch a statement's receipt: a C2SP tlog-proof file that proves it is in the log", runReceipt},
	{"verify-receipt", verifyReceiptUsage, "check receipts offline against the log key and the charter's witnesses and members", runVerifyReceipt},
	{"reindex", "reindex --data DIR", "rebuild the projection from the log", runReindex},
	{"demo", "demo [--data DIR] [--addr HOST:PORT] [--seed N]", "make and serve a simulated mechanism", runDemo},
	{"witness", witnessUsage, "cosign a log's checkpoints as a C2SP witness", runWitness},
}

// hintError is an error with a hint for the user.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, format string, args ...any) error {
	return &hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// lessGC makes the collector run less often in a server or an audit:
// the statement path and the replay allocate briefly and much, and memory
// is cheaper than the CPU a collection every 100% of heap growth costs.
// GOGC, when set, still wins.
func lessGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// exitError ends the command with a status and no further message.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		var ee *exitError
		var he *hintError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.code
		case errors.As(err, &he):
			fmt.Fprintf(stderr, "truce: error: %v\ntruce: hint: %s\n", err, he.hint)
		default:
			fmt.Fprintf(stderr, "truce: error: %v\n", err)
		}
		return 1
	}
	fmt.Fprintf(stderr, "truce: error: unknown command %q\ntruce: hint: run truce help for the list of commands\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "truce: a monitoring and verification mechanism whose every finding anyone can recompute")
	fmt.Fprintln(w, "\nUsage:")
	for _, c := range commands {
		fmt.Fprintf(w, "  truce %-40s %s\n", c.usage, c.summary)
	}
	fmt.Fprintln(w, "\nRun truce COMMAND -h for a command's flags.")
}

// flags makes a subcommand's flag set, writing its usage to e.stderr.
func flags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: truce %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, turning a flag error into an exit status 2.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{code: 2}
	}
	return nil
}

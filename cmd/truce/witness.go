package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/truce-mechanism/truce/internal/server"
	"github.com/truce-mechanism/truce/internal/witness"
	"golang.org/x/mod/sumdb/note"
)

const witnessUsage = "witness --data DIR [--addr HOST:PORT] [--name NAME] [--log-key KEY]... [--print-key]"

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func runWitness(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "witness", witnessUsage)
	data := fs.String("data", "truce-witness", "the witness's data folder: its key, the logs it follows, its state")
	addr := fs.String("addr", "127.0.0.1:8090", "the address to listen on")
	name := fs.String("name", "", "the witness's name, needed on its first run only: a schema-less URL such as witness.example/af")
	var logKeys stringList
	fs.Var(&logKeys, "log-key", "a log to follow: its verifier key, as truce init prints it; may be repeated, and is remembered in DIR/logs so later runs need not repeat it")
	printKey := fs.Bool("print-key", false, "print the witness's key, the one a charter lists, and exit without serving")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return withHint(fmt.Errorf("unexpected argument %q", fs.Arg(0)), "truce %s", witnessUsage)
	}

	// On a first run without a name, say so before anything else.
	if _, err := witness.ReadKey(*data); errors.Is(err, witness.ErrNoKey) && *name == "" {
		return noWitnessKey(*data)
	}
	known, err := witness.ReadLogKeys(*data)
	if err != nil {
		return err
	}
	for _, k := range logKeys {
		if _, err := note.NewVerifier(k); err != nil {
			return withHint(fmt.Errorf("--log-key %q is not a log verifier key", k),
				"give the log key that truce init printed, such as truce.example/istanbul-2025+1234abcd+AbC…")
		}
	}
	logs, err := witness.LogsFromKeys(append(slices.Clone(known), logKeys...))
	if err != nil {
		return withHint(err, "%s lists the logs the witness follows, one key a line; edit it to change a log's key", filepath.Join(*data, "logs"))
	}
	if len(logs) == 0 && !*printKey {
		return withHint(errors.New("the witness follows no log"),
			"give it one: truce witness --data %s --log-key KEY, with the log key that truce init printed", *data)
	}

	skey, made, err := witnessKey(*data, *name)
	if err != nil {
		return err
	}
	vkey, err := witness.VerifierKey(skey)
	if err != nil {
		return err
	}
	signer, err := witness.NewSigner(skey)
	if err != nil {
		return err
	}
	if *printKey && len(logKeys) == 0 {
		fmt.Fprintln(e.stdout, vkey)
		return nil
	}

	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	w, err := witness.Open(ctx, witness.Config{Dir: *data, Signer: signer, VerifierKey: vkey, Logs: logs, Logger: logger})
	if errors.Is(err, witness.ErrLocked) {
		return withHint(err, "another truce witness runs on this folder; stop it first, or give another folder")
	}
	if err != nil {
		return err
	}
	defer w.Close()
	// Only the witness that holds the folder changes its list of logs.
	if keys := witness.SortedKeys(logs); !slices.Equal(keys, known) {
		if err := witness.WriteLogKeys(*data, keys); err != nil {
			return err
		}
	}
	if *printKey {
		fmt.Fprintln(e.stdout, vkey)
		return nil
	}

	if made {
		fmt.Fprintf(e.stdout, "made witness %s in %s\n", w.Name(), *data)
	}
	fmt.Fprintf(e.stdout, "witness key: %s\n", vkey)
	if made {
		fmt.Fprintln(e.stdout, "(a charter lists this key in witnesses[].key)")
	}
	for _, l := range w.Logs() {
		size := "none cosigned yet"
		if l.Cosigned {
			size = fmt.Sprintf("cosigned up to size %d", l.Size)
		}
		fmt.Fprintf(e.stdout, "following %s (%s)\n", l.Origin, size)
	}
	err = server.Serve(ctx, *addr, w.Handler(), func(a string) {
		fmt.Fprintf(e.stdout, "serving witness %s at http://%s/\n", w.Name(), a)
	})
	if errors.Is(err, syscall.EADDRINUSE) {
		return withHint(err, "another program, perhaps another truce witness, listens there; choose another address with --addr HOST:PORT")
	}
	return err
}

// witnessKey reads the witness's key in dir, or makes it, named name, on
// the first run; made says which.
func witnessKey(dir, name string) (skey string, made bool, err error) {
	skey, err = witness.ReadKey(dir)
	switch {
	case errors.Is(err, witness.ErrNoKey) && name == "":
		return "", false, noWitnessKey(dir)
	case errors.Is(err, witness.ErrNoKey):
		if strings.ContainsAny(name, "+ \t\n") || name == "" {
			return "", false, withHint(fmt.Errorf("--name %q is not a key name", name), "use a schema-less URL, such as witness.example/af")
		}
		skey, err = witness.CreateKey(dir, name)
		if err != nil {
			return "", false, err
		}
		return skey, true, nil
	case err != nil:
		return "", false, err
	}
	if name != "" {
		s, err := witness.NewSigner(skey)
		if err != nil {
			return "", false, err
		}
		if s.Name() != name {
			return "", false, withHint(fmt.Errorf("%s holds the witness %s, not %s", dir, s.Name(), name),
				"a witness keeps its name; leave out --name, or give another folder for a new witness")
		}
	}
	return skey, false, nil
}

func noWitnessKey(dir string) error {
	return withHint(fmt.Errorf("no witness key in %s", dir),
		"name the witness on its first run: truce witness --data %s --name witness.example/NAME --log-key KEY", dir)
}

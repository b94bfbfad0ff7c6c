package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/truce-mechanism/truce/internal/demo"
	"github.com/truce-mechanism/truce/internal/server"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	start := time.Now()
	fs := flags(e, "demo", "demo [--data DIR] [--addr HOST:PORT] [--seed N]")
	data := fs.String("data", "truce-demo", "the demo's data folder: made fresh when absent or empty, reused when it holds a demo")
	addr := fs.String("addr", "127.0.0.1:8080", "the address to listen on")
	seed := fs.Int64("seed", 1, "the seed of a fresh demo's simulated history")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return withHint(fmt.Errorf("unexpected argument %q", fs.Arg(0)), "truce demo --data DIR --addr HOST:PORT")
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })

	fmt.Fprintln(e.stdout, "truce demo: a SIMULATED mechanism; its members, incidents, evidence and findings are all invented")
	if _, err := server.ReadInfo(*data); errors.Is(err, server.ErrNoMechanism) {
		fmt.Fprintf(e.stdout, "generating a fresh simulated mechanism in %s (seed %d)...\n", *data, *seed)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	lessGC()
	d, err := demo.Open(ctx, *data, demo.Config{Seed: *seed, Logger: logger})
	switch {
	case errors.Is(err, demo.ErrNotEmpty):
		return withHint(err, "give truce demo a new or empty folder, such as --data %s-demo", *data)
	case errors.Is(err, demo.ErrNotDemo):
		return withHint(err, "serve a real mechanism with truce serve --data %s, or remove the folder to make a fresh demo in it", *data)
	case err != nil:
		return err
	}
	defer d.Close(context.WithoutCancel(ctx))

	if d.Generated {
		fmt.Fprintf(e.stdout, "generated it in %.1fs:\n", d.Took.Seconds())
	} else {
		fmt.Fprintf(e.stdout, "reusing the simulated mechanism in %s (seed %d); as generated, it held:\n", *data, d.Summary.Seed)
		if seedSet && *seed != d.Summary.Seed {
			fmt.Fprintf(e.stderr, "truce: warning: --seed %d ignored: %s holds the demo made with seed %d; remove it, or choose another --data, for a fresh one\n", *seed, *data, d.Summary.Seed)
		}
	}
	d.Summary.WriteTo(e.stdout)
	if n := d.Server.Mechanism.Next(); n > uint64(d.Summary.Entries) {
		fmt.Fprintf(e.stdout, "  %-21s %d entries, %d of them submitted since it was generated\n", "its log now has", n, n-uint64(d.Summary.Entries))
	}

	err = server.Serve(ctx, *addr, d.Handler(), func(a string) {
		url := "http://" + a
		w := e.stdout
		fmt.Fprintf(w, "\nserving the SIMULATED mechanism %s at %s/ (%.1fs after start)\n", d.Server.Info.Origin, url, time.Since(start).Seconds())
		fmt.Fprintf(w, "  API          %s/v1/incidents  %s/v1/compliance  %s/v1/charter\n", url, url, url)
		fmt.Fprintf(w, "  log          %s/log/checkpoint (audit it: truce audit --server %s --log-key '%s')\n", url, url, d.Server.Info.LogKey)
		fmt.Fprintf(w, "  data folder  %s\n", d.Dir)
		ex := d.Example()
		keyExample := d.KeyFile("tr-1")
		if ex != nil {
			keyExample = ex.KeyFile
		}
		fmt.Fprintf(w, "  member keys  every simulated member's private key is in %s/%s/, e.g. %s\n", d.Dir, demo.KeysDir, keyExample)
		if ex != nil {
			fmt.Fprintf(w, "\nact as simulated member %s (%s); with truce built (go build -o truce ./cmd/truce):\n", ex.Member, ex.Effect)
			fmt.Fprintf(w, "  echo '%s' > stmt.json\n", ex.Statement)
			fmt.Fprintf(w, "  ./truce sign --key %s stmt.json > env.json\n", ex.KeyFile)
			fmt.Fprintf(w, "  ./truce submit --server %s env.json\n", url)
		}
		fmt.Fprintf(w, "\nCtrl-C stops it; truce demo --data %s serves this same demo again, and a new folder gets a fresh one\n", *data)
	})
	if err != nil {
		return withHint(err, "is another server on %s? choose another address with --addr", *addr)
	}
	return nil
}

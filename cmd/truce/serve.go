package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"

	"github.com/truce-mechanism/truce/internal/server"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "serve", "serve --data DIR [--addr HOST:PORT] [--secure-cookies]")
	data := fs.String("data", "truce-data", "the mechanism's data folder")
	addr := fs.String("addr", "127.0.0.1:8080", "the address to listen on")
	secure := fs.Bool("secure-cookies", false, "mark the web UI's session cookie Secure: for a server behind a proxy that terminates TLS")
	if err := parse(fs, args); err != nil {
		return err
	}
	lessGC()
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	srv, err := server.Open(ctx, server.Config{Dir: *data, Logger: logger, Progress: progress(e, "catching up with the log"), SecureCookies: *secure})
	if err != nil {
		return noMechanismHint(err, *data)
	}
	defer srv.Close(context.WithoutCancel(ctx))
	err = server.Serve(ctx, *addr, srv.Handler(), func(a string) {
		fmt.Fprintf(e.stdout, "serving %s at http://%s/ (log at http://%s/log/)\n", srv.Info.Origin, a, a)
	})
	if errors.Is(err, syscall.EADDRINUSE) {
		return withHint(err, "another program, perhaps another truce serve, listens there; choose another address with --addr HOST:PORT")
	}
	return err
}

// noMechanismHint tells the user to run truce init when dir holds no
// mechanism, and returns other errors as they are.
func noMechanismHint(err error, dir string) error {
	if !errors.Is(err, server.ErrNoMechanism) {
		return err
	}
	return withHint(fmt.Errorf("%w %s", server.ErrNoMechanism, dir),
		"make one first: truce init --data %s --origin ORIGIN, or give the folder that truce init made", dir)
}

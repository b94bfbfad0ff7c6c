package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/truce-mechanism/truce/internal/server"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "serve", "serve --data DIR [--addr HOST:PORT]")
	data := fs.String("data", "truce-data", "the mechanism's data folder")
	addr := fs.String("addr", "127.0.0.1:8080", "the address to listen on")
	if err := parse(fs, args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	srv, err := server.Open(ctx, server.Config{Dir: *data, Logger: logger, Progress: progress(e, "catching up with the log")})
	if err != nil {
		if _, statErr := os.Stat(*data); statErr != nil {
			return withHint(err, "make a mechanism first: truce init --data %s --origin ORIGIN", *data)
		}
		return err
	}
	defer srv.Close(context.WithoutCancel(ctx))
	return server.Serve(ctx, *addr, srv.Handler(), func(a string) {
		fmt.Fprintf(e.stdout, "serving %s at http://%s/ (log at http://%s/log/)\n", srv.Info.Origin, a, a)
	})
}

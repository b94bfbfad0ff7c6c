package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/truce-mechanism/truce/internal/server"
	"github.com/truce-mechanism/truce/internal/store/sqlite"
)

func runReindex(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "reindex", "reindex --data DIR")
	data := fs.String("data", "truce-data", "the mechanism's data folder")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := server.ReadInfo(*data); err != nil {
		return noMechanismHint(err, *data)
	}
	st, err := sqlite.Open(ctx, filepath.Join(*data, "state.db"))
	if err != nil {
		return err
	}
	if err := st.Reset(ctx); err != nil {
		st.Close()
		return fmt.Errorf("cannot empty the projection: %w", err)
	}
	if err := st.Close(); err != nil {
		return err
	}
	srv, err := server.Open(ctx, server.Config{Dir: *data, Progress: progress(e, "replaying the log")})
	if err != nil {
		return err
	}
	n := srv.Mechanism.Next()
	if err := srv.Close(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "rebuilt the projection from %d log entries\n", n)
	return nil
}

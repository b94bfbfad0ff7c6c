package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/truce-mechanism/truce/internal/server"
)

func runInit(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "init", "init --data DIR --origin ORIGIN")
	data := fs.String("data", "truce-data", "the data folder to create")
	origin := fs.String("origin", "", "the mechanism's name and log origin, such as truce.example/istanbul-2025")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *origin == "" {
		return withHint(errors.New("--origin is required"), "name the mechanism, for example: truce init --data %s --origin truce.example/istanbul-2025", *data)
	}
	if have, err := server.ReadInfo(*data); err == nil {
		return withHint(fmt.Errorf("%s already holds a mechanism, %s", *data, have.Origin),
			"serve it with truce serve --data %s, or give init another folder", *data)
	}
	info, err := server.Init(*data, *origin)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "made mechanism %s in %s\nlog key: %s\n", info.Origin, *data, info.LogKey)
	fmt.Fprintf(e.stdout, "next: make member keys (truce keygen), sign a charter (truce sign), serve (truce serve --data %s) and submit it (truce submit)\n", *data)
	return nil
}

package main

import (
	"context"
	"errors"
)

func runAudit(ctx context.Context, e *env, args []string) error {
	return errors.New("audit: not yet")
}

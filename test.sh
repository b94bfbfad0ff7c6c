#!/usr/bin/env bash
# The whole test suite: what the README's second command and CI run.
# It installs and starts whatever the tests need, then vets and tests
# every package with the race detector.
set -euo pipefail
cd "$(dirname "$0")"

go vet ./...
go test -race -count=1 "$@" ./...

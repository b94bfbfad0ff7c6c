#!/usr/bin/env bash
# The whole test suite: what the README's second command and CI run.
# It installs and starts whatever the tests need, then vets and tests
# every package with the race detector.
set -euo pipefail
cd "$(dirname "$0")"

# The web UI's end-to-end tests drive Debian's Chromium (internal/browser).
if [ ! -x /usr/bin/chromium ]; then
	echo "test.sh: installing chromium and fonts-noto-core (apt-get) for the browser tests" >&2
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo -n"
	$sudo apt-get update -qq >/dev/null
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core >/dev/null
fi

go vet ./...
go test -race -count=1 "$@" ./...

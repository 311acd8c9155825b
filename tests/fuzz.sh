#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a short time each ($1, e.g. 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fn in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $fn ($dur)"
    go test -run='^$' -fuzz="^$fn\$" -fuzztime="$dur" "$pkg"
  done
done

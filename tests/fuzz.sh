#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a fixed number of inputs each
# ($1, default 100000x). Every target's seed corpus also runs as a plain test
# in `go test ./...`.
#
# Counts, not durations: with a duration, Go 1.26's fuzz coordinator can
# fail a clean run with "context deadline exceeded" as the time runs out
# (golang/go#75804, fixed in Go 1.27; seen here about once in 15 runs). A
# count has no deadline to race.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000x}
# Targets that open files or SQLite per input run fewer inputs.
slow=" FuzzOpen=20000x FuzzWalk=20000x FuzzDetectTar=20000x FuzzReadDB=1000x FuzzLegacy=5000x FuzzOCILayout=5000x FuzzReadLayerOutput=5000x FuzzReadScript=20000x FuzzLoadKey=2000x "
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fn in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    limit=$count
    if [[ $slow =~ \ $fn=([0-9]+x)\  ]]; then
      limit=${BASH_REMATCH[1]}
    fi
    echo "fuzz $pkg $fn ($limit)"
    go test -run='^$' -fuzz="^$fn\$" -fuzztime="$limit" "$pkg"
  done
done

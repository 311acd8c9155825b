#!/usr/bin/env bash
# Prints the vendorHash for nix/package.nix: the NAR hash of what
# `go mod vendor` makes from the same source package.nix builds (Go files,
# go.mod, go.sum; no tests/, examples/, nix/), as buildGoModule computes it.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
git ls-files -co --exclude-standard | grep -E '(\.go|\.sql)$|^go\.(mod|sum)$' | grep -vE '^(tests|examples|nix|build)/' \
  | while read -r f; do mkdir -p "$tmp/src/$(dirname "$f")"; cp "$f" "$tmp/src/$f"; done
(cd "$tmp/src" && GOFLAGS=-mod=mod go mod vendor)
hash=$(nix-hash --type sha256 --base32 "$tmp/src/vendor")
NIX_CONFIG="experimental-features = nix-command" nix hash to-sri --type sha256 "$hash"

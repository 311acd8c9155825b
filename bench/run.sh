#!/usr/bin/env bash
# make bench: build the benchmark closures once (cached by Nix), then time
# nixlayer over them against baselines measured in the same run (bench/main.go).
#   NIXLAYER_BENCH_CLOSURE  the closure expression (default ../shared/bench/closure.nix)
#   NIXLAYER_BENCH_SCALE    size factor of the RSS scaling closure (default 4; 0 skips it)
#   NIXLAYER_BENCH_RUNS     runs per timing, the fastest counts (default 3)
#   NIXLAYER_BENCH_CACHED   0 skips the cached-layer cases (nix-build of a buildLayer, a rebuild, a push)
#   NIXLAYER_BENCH_SET      0 skips the image-set cases (bench/imageset.nix); "only" runs only them
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
closure_nix=${NIXLAYER_BENCH_CLOSURE:-$repo/../shared/bench/closure.nix}
scale=${NIXLAYER_BENCH_SCALE:-4}
runs=${NIXLAYER_BENCH_RUNS:-3}
if [ ! -f "$closure_nix" ]; then
  echo "bench: no benchmark closure at $closure_nix (set NIXLAYER_BENCH_CLOSURE)" >&2
  exit 1
fi
closure_nix=$(cd "$(dirname "$closure_nix")" && pwd)/$(basename "$closure_nix")
# Offline, as root, in the Nix sandbox. The benchmark closures are built by
# /bin/sh running /bin/mkdir and /bin/ln (shared/bench/closure.nix,
# bench/scaled.nix); in the sandbox those are Debian's static busybox, bound
# in (tests/setup.sh installs busybox-static). nixlayer needs nothing bound.
bb=$(command -v busybox || true)
if [ -z "$bb" ] || ldd "$bb" >/dev/null 2>&1; then # ldd fails on a static binary
  echo "bench: the sandboxed closure builds need a static busybox (apt-get install busybox-static)" >&2
  exit 1
fi
export NIX_CONFIG=$'substituters =\nsandbox = true\nbuild-users-group =\n'"extra-sandbox-paths = /bin/sh=$bb /bin/mkdir=$bb /bin/ln=$bb"
top=$(nix-build "$closure_nix" --no-out-link)
args=(-nixlayer "$repo/build/nixlayer/bin/nixlayer" -closure "$top" -runs "$runs")
if [ "${NIXLAYER_BENCH_CACHED:-1}" != 0 ]; then
  args+=(-closure-nix "$closure_nix")
fi
case "${NIXLAYER_BENCH_SET:-1}" in
  0) ;;
  only) args+=(-imageset "$repo/bench/imageset.nix" -set-only) ;;
  *) args+=(-imageset "$repo/bench/imageset.nix") ;;
esac
if [ "$scale" -gt 1 ] && [ "${NIXLAYER_BENCH_SET:-1}" != only ]; then
  large=$(nix-build "$repo/bench/scaled.nix" --arg closure "$closure_nix" --arg scale "$scale" --no-out-link)
  args+=(-large "$large")
fi
cd "$repo"
CGO_ENABLED=0 go run ./bench "${args[@]}"

#!/usr/bin/env bash
# make bench: build the benchmark closures once (cached by Nix), then time
# nixlayer over them against baselines measured in the same run (bench/main.go).
#   NIXLAYER_BENCH_CLOSURE  the closure expression (default ../shared/bench/closure.nix)
#   NIXLAYER_BENCH_SCALE    size factor of the RSS scaling closure (default 4; 0 skips it)
#   NIXLAYER_BENCH_RUNS     runs per timing, the fastest counts (default 3)
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
export NIX_CONFIG=$'substituters =\nsandbox = false\nbuild-users-group ='
top=$(nix-build "$closure_nix" --no-out-link)
args=(-nixlayer "$repo/build/nixlayer/bin/nixlayer" -closure "$top" -runs "$runs")
if [ "$scale" -gt 1 ]; then
  large=$(nix-build "$repo/bench/scaled.nix" --arg closure "$closure_nix" --arg scale "$scale" --no-out-link)
  args+=(-large "$large")
fi
cd "$repo"
CGO_ENABLED=0 go run ./bench "${args[@]}"

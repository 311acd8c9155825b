#!/usr/bin/env bash
# The main job, end to end: build the example image with Nix (the builder is
# the nixlayer binary just built), verify it with real tools, and say where
# it is and how to load it.
set -euo pipefail
cd "$(dirname "$0")/.."
# Offline, as root, in the Nix sandbox (the default of Nix on Linux): the
# builds see the store and nothing else of this machine.
export NIX_CONFIG=$'substituters =\nsandbox = true\nbuild-users-group ='
bin=build/nixlayer/bin/nixlayer
[ -x "$bin" ] || go build -trimpath -o "$bin" .

echo "== building the example image with Nix"
out=$(nix-build examples --arg nixlayer ./build/nixlayer -A hello-image --no-out-link)

echo "== verifying $out"
"$bin" inspect "$out" | head -8
skopeo inspect "docker-archive:$out" | grep -E '"(Architecture|Os)"'
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
skopeo copy -q "docker-archive:$out" "oci:$work/oci:latest"
umoci unpack --image "$work/oci:latest" "$work/bundle" >/dev/null
said=$(chroot "$work/bundle/rootfs" /bin/hello)
[ "$said" = "Hello from nixlayer" ] || { echo "unexpected output from /bin/hello: $said" >&2; exit 1; }
echo "chroot run of Cmd /bin/hello: $said"
if docker info >/dev/null 2>&1; then
  docker load -q < "$out"
  echo "docker run: $(docker run --rm hello:latest)"
else
  echo "(no Docker engine answers 'docker info': skipped docker load/run)"
fi

echo
echo "Image: $out"
echo "Load it with:  docker load < $out"

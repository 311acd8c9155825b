#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: Nix (nix-bin), the
# container tools the tests check images with (skopeo, umoci, podman,
# containerd), a registry server, a static busybox for test images, a
# static bash for the nix-shell images, pigz/zstd for the benchmarks'
# baselines, the reference zstd decoder to check our zstd layers with, and jq to run
# nixpkgs' closure-info pipeline beside ours; syft, built with Go, to read
# the SBOM documents back, with --test-tools (make test; not make demo),
# which also fetches an arm64 busybox and qemu-user-static and installs
# reprotest, diffoscope-minimal, disorderfs and faketime.
# Idempotent: installs only what is missing.
set -euo pipefail
need=()
for pair in nix-build:nix-bin skopeo:skopeo umoci:umoci docker-registry:docker-registry \
            podman:podman pigz:pigz zstd:zstd containerd:containerd ctr:containerd jq:jq; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
# The test images need a static busybox (a dynamic one cannot run in them),
# and the nix-shell images' stand-in stdenv a static bash (tests/nix/stdenv.nix).
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
dpkg -s bash-static >/dev/null 2>&1 || need+=(bash-static)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "tests/setup.sh: missing packages ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "tests/setup.sh: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The registry server package starts a system service on :5000; the tests
# start their own on a free loopback port, so stop that one if it runs.
if command -v systemctl >/dev/null 2>&1; then systemctl stop docker-registry >/dev/null 2>&1 || true; fi
if [ "${1:-}" = --test-tools ]; then
  # syft reads the SBOM documents back in the sbom tests. It has no Debian
  # package, so it is built from the Go module proxy (about 10 minutes) into
  # a cache directory, once; the tests look there and on PATH.
  syft_bin=${XDG_CACHE_HOME:-$HOME/.cache}/nixlayer-tools/bin
  if ! command -v syft >/dev/null 2>&1 && [ ! -x "$syft_bin/syft" ]; then
    command -v go >/dev/null 2>&1 || { echo "tests/setup.sh: go is not on PATH (needed to build syft)" >&2; exit 1; }
    echo "tests/setup.sh: building syft v1.57.1 into $syft_bin (about 10 minutes)"
    (cd / && GOBIN=$syft_bin CGO_ENABLED=0 nice go install github.com/anchore/syft/cmd/syft@v1.57.1)
  fi
  # The multi-platform tests need an arm64 stand-in: Debian's static busybox
  # for arm64, extracted (not installed) into a cache directory, once; and
  # qemu-user-static to run it where the kernel allows (binfmt_misc).
  arm64_dir=${XDG_CACHE_HOME:-$HOME/.cache}/nixlayer-tools/busybox-arm64
  if [ ! -x "$arm64_dir/busybox" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "tests/setup.sh: the arm64 busybox is missing; run as root to fetch it" >&2
      exit 1
    fi
    echo "tests/setup.sh: fetching busybox-static:arm64 into $arm64_dir"
    dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq busybox-static:arm64 2>/dev/null && dpkg-deb -x busybox-static_*_arm64.deb x)
    mkdir -p "$arm64_dir"
    cp "$tmp/x/bin/busybox" "$arm64_dir/busybox"
    rm -rf "$tmp"
  fi
  # tests/reprotest_test.go runs Debian's reprotest on the command line,
  # with diffoscope (the minimal package is enough: it compares tars and
  # text) to report a difference, disorderfs (FUSE) for the file-ordering
  # variation and faketime for the time variation.
  repro=()
  for pair in reprotest:reprotest diffoscope:diffoscope-minimal disorderfs:disorderfs faketime:faketime; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || repro+=("${pair#*:}")
  done
  if [ ${#repro[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "tests/setup.sh: missing packages ${repro[*]}; run as root or install them" >&2
      exit 1
    fi
    echo "tests/setup.sh: installing ${repro[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${repro[@]}" >/dev/null
  fi
  if ! command -v qemu-aarch64-static >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null || true
  fi
fi
mkdir -p /nix/var/nix/gcroots /nix/var/nix/profiles 2>/dev/null || true
echo "tests/setup.sh: ready ($(nix-build --version))"

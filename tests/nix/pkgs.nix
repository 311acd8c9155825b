# Small packages for the end-to-end tests, made without nixpkgs: Debian's
# static busybox brought into the store, and derivations built by it.
{ system ? builtins.currentSystem }:
let
  # Debian's busybox-static, alone in a store directory so that argv[0]
  # ends in "busybox" and the applets dispatch.
  bbDir = builtins.path {
    path = /usr/bin;
    name = "busybox-static";
    filter = p: t: baseNameOf p == "busybox";
  };
  busybox = "${bbDir}/busybox";
  # A derivation run by busybox's shell; PATH holds the busybox applets.
  run = name: script: extra: derivation ({
    inherit name system;
    builder = "${busybox}";
    args = [ "sh" "-c" ("export PATH=${bbBin}/bin; set -e\n" + script) ];
  } // extra);
  # busybox applets as a package: bin/<applet> -> busybox
  bbBin = derivation {
    name = "busybox";
    inherit system;
    builder = "${busybox}";
    args = [ "sh" "-c" ''
      ${busybox} mkdir -p $out/bin
      for a in $(${busybox} --list); do ${busybox} ln -s ${busybox} $out/bin/$a; done
    '' ];
  };
  # hello: a script that depends on busybox
  hello = run "hello-1.0" ''
    mkdir -p $out/bin $out/share/hello
    printf '#!${bbBin}/bin/sh\necho "Hello from nixlayer"\n' > $out/bin/hello
    chmod 555 $out/bin/hello
    echo data > $out/share/hello/data.txt
    touch $out/share/hello/empty
    mkdir -p $out/share/hello/emptydir
  '' {};
  # twins: two files with the same bytes and mode, which store optimisation
  # (or a test) may turn into hard links of one inode.
  twins = run "twins-1.0" ''
    mkdir -p $out/share/twins
    i=0
    while [ $i -lt 2000 ]; do echo "line $i of a file that has a twin"; i=$((i+1)); done > $out/share/twins/a
    cp $out/share/twins/a $out/share/twins/b
  '' {};
  # big: 13 MB of text in one file, more than the 4 MiB of a zstd frame
  # several times over, so that zstd layers holding it have many frames.
  big = run "big-1.0" ''
    mkdir -p $out/share/big
    seq 1 1800000 > $out/share/big/numbers
  '' {};
  # Stand-ins for the nixpkgs helpers and packages that nixpkgs' dockerTools
  # examples use (tests/nix/examples.nix), all made by busybox.
  writeText = name: text: run name ''printf '%s' "$text" > $out'' { inherit text; };
  writeScript = name: text: run name ''printf '%s' "$text" > $out; chmod 555 $out'' { inherit text; };
  writeTextDir = path: text: run (baseNameOf path) ''
    mkdir -p "$out/$(dirname "$file")"
    printf '%s' "$text" > "$out/$file"
  '' { inherit text; file = path; };
  writeScriptBin = name: text: run name ''
    mkdir -p $out/bin
    printf '%s' "$text" > "$out/bin/$bin"
    chmod 555 "$out/bin/$bin"
  '' { inherit text; bin = name; };
  runCommand = name: env: script: run name script env;
  # buildEnv: a tree of symlinks to the files of paths (under pathsToLink).
  buildEnv = { name, paths, pathsToLink ? [ "/" ] }: run name ''
    mkdir -p $out
    for p in $paths; do
      for sub in $links; do
        [ -d "$p$sub" ] || continue
        (cd "$p$sub" && find . ! -type d) | while read -r f; do
          f=''${f#./}
          mkdir -p "$(dirname "$out$sub/$f")"
          ln -sf "$p$sub/$f" "$out$sub/$f"
        done
      done
    done
  '' { inherit paths; links = pathsToLink; };
  # A script package: bin/<name> running text under busybox sh.
  scriptBin = name: bin: text: run name ''
    mkdir -p $out/bin
    printf '#!${bbBin}/bin/sh\n%s\n' "$text" > "$out/bin/$bin"
    chmod 555 "$out/bin/$bin"
  '' { inherit text bin; };
  # bash and bashInteractive: busybox sh that answers --version.
  bash = run "bash-5.2-standin" ''
    mkdir -p $out/bin
    printf '#!${bbBin}/bin/sh\nif [ "$1" = --version ]; then echo "GNU bash, version 5.2 (busybox stand-in)"; exit 0; fi\nexec ${bbBin}/bin/sh "$@"\n' > $out/bin/bash
    chmod 555 $out/bin/bash
    ln -s bash $out/bin/sh
  '' {};
  # coreutils: the GNU tools the examples use, as busybox applets.
  coreutils = run "coreutils-9.1-standin" ''
    mkdir -p $out/bin
    for a in cat chmod cp echo env id ls mkdir readlink stat test touch true; do ln -s ${busybox} $out/bin/$a; done
  '' {};
  # pkgsStatic.busybox: the binary with relative applet links, copyable.
  busyboxStatic = run "busybox-static-standin" ''
    mkdir -p $out/bin
    cp ${busybox} $out/bin/busybox
    for a in $($out/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox $out/bin/$a; done
  '' {};
  # nginx: busybox httpd serving the root and port of an nginx.conf.
  nginx = scriptBin "nginx-1.24-standin" "nginx" ''
    while [ $# -gt 0 ]; do [ "$1" = -c ] && conf=$2; shift; done
    port=$(${bbBin}/bin/sed -n 's/.*listen *\([0-9]*\);.*/\1/p' "$conf")
    root=$(${bbBin}/bin/sed -n 's/.*root *\([^;]*\);.*/\1/p' "$conf")
    exec ${bbBin}/bin/httpd -f -p "$port" -h "$root"'';
  # redis: a PONG server on 6379 and a redis-cli that knows its version.
  redis = run "redis-7.0-standin" ''
    mkdir -p $out/bin
    printf '#!${bbBin}/bin/sh\nwhile true; do echo +PONG | ${bbBin}/bin/nc -l -p 6379; done\n' > $out/bin/redis-server
    printf '#!${bbBin}/bin/sh\necho "redis-cli 7.0.0 (busybox stand-in)"\n' > $out/bin/redis-cli
    chmod 555 $out/bin/*
  '' {};
  # nix: what exists without a real Nix: bin/nix and its nix-daemon link.
  nix = run "nix-2.8-standin" ''
    mkdir -p $out/bin
    printf '#!${bbBin}/bin/sh\necho "nix (Nix) 2.8 stand-in"\n' > $out/bin/nix
    chmod 555 $out/bin/nix
    ln -s nix $out/bin/nix-daemon
    ln -s nix $out/bin/nix-store
  '' {};
  # dockerTools.fakeNss: root and nobody in /etc/passwd and /etc/group.
  fakeNss = run "fake-nss" ''
    mkdir -p $out/etc $out/var/empty
    printf 'root:x:0:0:root user:/var/empty:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/sh\n' > $out/etc/passwd
    printf 'root:x:0:\nnobody:x:65534:\n' > $out/etc/group
    printf 'hosts: files dns\n' > $out/etc/nsswitch.conf
  '' {};
  # nss-cacert: a CA bundle where nixpkgs' cacert puts it.
  cacert = run "nss-cacert-standin" ''
    mkdir -p $out/etc/ssl/certs
    printf -- '-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n' > $out/etc/ssl/certs/ca-bundle.crt
  '' {};
  # stdenv, mkDerivation, mkShell and a stdenv-built hello, for the
  # nix-shell images (./stdenv.nix).
  nixShell = import ./stdenv.nix { inherit system bbBin run; };
in {
  inherit cacert nixShell;
  inherit bbDir busybox bbBin big hello run twins;
  inherit writeText writeScript writeTextDir writeScriptBin runCommand buildEnv scriptBin;
  inherit bash coreutils busyboxStatic nginx redis nix fakeNss;
  bashInteractive = bash;
  runtimeShell = "${bash}/bin/bash";
}

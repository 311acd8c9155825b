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
in { inherit bbDir busybox bbBin big hello run twins; }

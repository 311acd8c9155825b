# The image-set benchmark (bench/imageset.go): eight images over
# overlapping parts of a closure made from this machine's files (as
# shared/bench/closure.nix): each of 17 directories becomes a library of
# many store paths (one per subdirectory, one for its loose files) that
# references the library i/2, so lib-0 is in every closure, as glibc is.
# Each image runs one app that references some libraries. The images are
# streams (uncompressed, nothing written but a script), layered one by one
# with `strategy`, or as one set (strategy = "set"). version changes
# lib-8 (and so lib-16 above it, and the apps over them): the one-package
# update.
{ repo, bin, strategy, maxLayers, version ? "1" }:
let
  inherit (builtins) attrNames concatStringsSep elemAt filter genList length listToAttrs map readDir substring;
  nl = import (repo + "/nix") { nixlayer = builtins.path { path = bin; name = "nixlayer"; }; };
  sys = builtins.currentSystem;
  dirs = [
    /usr/local/go/src/net /usr/local/go/src/runtime /usr/local/go/src/crypto
    /usr/local/go/src/cmd/compile /usr/local/go/src/cmd/link /usr/local/go/src/go
    /usr/local/go/src/internal /usr/local/go/src/syscall /usr/local/go/src/encoding
    /usr/local/go/pkg/tool /usr/local/go/src/math /usr/local/go/src/image
    /usr/lib/x86_64-linux-gnu/perl /usr/lib/x86_64-linux-gnu/gconv
    /usr/lib/python3 /usr/share/perl /usr/lib/gcc
  ];
  chunks = i:
    let
      d = elemAt dirs i;
      e = readDir d;
      subs = filter (n: e.${n} == "directory" && substring 0 1 n != ".") (attrNames e);
    in map (n: builtins.path { path = d + "/${n}"; name = "src-${toString i}-${n}"; }) subs
      ++ [ (builtins.path { path = d; name = "src-${toString i}-files"; filter = p: t: !(dirOf p == toString d && t == "directory"); }) ];
  libs = genList (i: derivation {
    name = "lib-${toString i}";
    system = sys;
    builder = "/bin/sh";
    version = if i == 8 then version else "1";
    deps = concatStringsSep " " (chunks i ++ (if i > 0 then [ (elemAt libs (i / 2)) ] else [ ]));
    args = [ "-c" "/bin/mkdir $out && echo $version $deps > $out/deps" ];
  }) (length dirs);
  # which libraries each app uses: some images share almost everything
  # (0, 1, 6; 2, 3), some little (4, 7)
  uses = [ [ 16 12 ] [ 16 13 ] [ 9 10 11 ] [ 9 10 11 15 ] [ 14 5 ] [ 7 8 ] [ 16 12 13 ] [ 2 3 ] ];
  apps = genList (k: derivation {
    name = "app-${toString k}";
    system = sys;
    builder = "/bin/sh";
    deps = concatStringsSep " " (map (elemAt libs) (elemAt uses k));
    args = [ "-c" "/bin/mkdir $out && echo $deps > $out/deps" ];
  }) (length uses);
  images = listToAttrs (genList (k: { name = "img-${toString k}"; value = { tag = "v"; contents = [ (elemAt apps k) ]; }; }) (length uses));
  set = nl.buildImageSet { inherit maxLayers; images = builtins.mapAttrs (_: a: a // { builder = "streamLayeredImage"; }) images; };
  alone = builtins.mapAttrs (n: a: nl.streamLayeredImage (a // { name = n; inherit maxLayers; layering = strategy; })) images;
in
{
  images = map (n: (if strategy == "set" then set else alone).${n}) (attrNames images);
  inherit apps;
}

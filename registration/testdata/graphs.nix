# Closure graphs written by real Nix for registration's tests. pkgs is
# tests/nix/pkgs.nix. app depends on hello, liba and libb; libb refers to
# itself; all of them depend on busybox.
{ pkgs }:
let
  inherit (pkgs) run bbBin busybox;
  liba = run "liba-1.0" "mkdir -p $out; echo ${bbBin} > $out/dep" { };
  libb = run "libb-2.0" "mkdir -p $out; echo ${bbBin} > $out/dep; echo $out > $out/self" { };
  app = run "app-0.1" "mkdir -p $out; echo ${liba} ${libb} ${pkgs.hello} > $out/deps" { };
in
{
  inherit app;
  # exportReferencesGraph as a plain-text file, copied to $out.
  plain = run "graph-plain" "cp closure $out" { exportReferencesGraph = [ "closure" app ]; };
  # With structured attrs: .attrs.json copied to $out (PATH is unset and
  # $out comes from the JSON's outputs). In the sandbox Nix 2.8 names the
  # file by its path outside, so it is looked for in $NIX_BUILD_TOP too.
  structured = derivation {
    name = "graph-structured";
    system = builtins.currentSystem;
    builder = busybox;
    __structuredAttrs = true;
    exportReferencesGraph.closure = [ app ];
    args = [ "sh" "-c" ''
      f=$NIX_ATTRS_JSON_FILE; [ -e "$f" ] || f=$NIX_BUILD_TOP/.attrs.json
      out=$(${bbBin}/bin/sed -n 's/.*"outputs":{"out":"\([^"]*\)".*/\1/p' "$f")
      ${bbBin}/bin/cp "$f" "$out"
    '' ];
  };
}

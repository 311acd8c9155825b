# The benchmark closure made `scale` times larger: copy k of the shared
# closure (../shared/bench/closure.nix) is the same file with its chunk,
# package and top names suffixed, so every copy is a distinct set of store
# paths with the same files. Copy 0 is the shared closure itself.
{ closure ? ../../shared/bench/closure.nix, scale ? 4 }:
let
  text = builtins.readFile closure;
  copy = k:
    if k == 0 then import closure { }
    else
      let s = toString k;
      in import (builtins.toFile "bench-closure-copy-${s}.nix" (builtins.replaceStrings
        [ "\"chunk-" "\"pkg-" "\"bench-top\"" ]
        [ "\"chunk${s}-" "\"pkg${s}-" "\"bench-top${s}\"" ]
        text)) { };
in
derivation {
  name = "bench-top-x${toString scale}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  deps = builtins.concatStringsSep " " (builtins.genList copy scale);
  args = [ "-c" "/bin/mkdir $out && echo $deps > $out/deps" ];
}

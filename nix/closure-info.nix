# closureInfo without stdenv: the same $out/{registration,store-paths,
# total-nar-size} as nixpkgs' closureInfo, written by the nixlayer binary
# from the structured-attrs closure.
#
#   closureInfo = import ./closure-info.nix { inherit nixlayerBin system; };
#   closureInfo { rootPaths = [ hello ]; }
{ nixlayerBin, system ? builtins.currentSystem, ... }:
{ rootPaths }:
derivation {
  name = "closure-info";
  inherit system;
  builder = nixlayerBin;
  args = [ "closure-info" ];
  __structuredAttrs = true;
  exportReferencesGraph.closure = if builtins.isList rootPaths then rootPaths else [ rootPaths ];
  preferLocalBuild = true;
  allowSubstitutes = false;
}

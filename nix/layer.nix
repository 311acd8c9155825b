# nl.buildLayer: a cached layer derivation. Its output holds the layer
# blob(s), compressed as asked, and layer.json (the descriptor: digests,
# diffIDs, sizes, media types, compression, store paths, history comment,
# platform), written by `nixlayer build-layer`. Give it to any image builder
# in `layers = [ ... ]`: the image takes the blobs as they are, and a
# binary cache can serve them like any other output.
#
#   base = nl.buildLayer { deps = [ python3 ]; };
#   app  = nl.buildLayeredImage { name = "app"; contents = [ app ]; layers = [ base ]; };
#
# The layer holds the closure of deps (and copyToRoot, whose files go at
# its root, copied) minus the store paths of the layers given in `layers`.
# Every argument but name goes to nixlayer as written; nixlayer
# (image.ResolveLayer) applies the defaults and refuses unknown ones.
{ nixlayerBin, system ? builtins.currentSystem }:
#
# contentAddressed = true makes it a content-addressed derivation (Nix's
# `experimental-features = ca-derivations`).
args@{ name ? "layer", deps ? [ ], copyToRoot ? [ ], layers ? [ ], contentAddressed ? false, ... }:
let
  toList = x: if builtins.isList x then x else if x == null then [ ] else [ x ];
  rest = builtins.removeAttrs args [ "name" "deps" "copyToRoot" "layers" "contentAddressed" ];
  given = builtins.removeAttrs rest (builtins.filter (n: rest.${n} == null) (builtins.attrNames rest));
in
derivation ((import ./args.nix).caAttrs contentAddressed // {
  name = baseNameOf name;
  inherit system;
  builder = nixlayerBin;
  args = [ "build-layer" ];
  __structuredAttrs = true;
  exportReferencesGraph.closure = toList deps ++ toList copyToRoot;
  nixlayer = given // {
    function = "buildLayer";
    inherit system;
    deps = map toString (toList deps);
    copyToRoot = map toString (toList copyToRoot);
    # Inputs of the build: nixlayer reads their layer.json.
    layers = map toString (toList layers);
  };
})

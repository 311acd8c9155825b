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
# The arguments are those of the pattern (`builtins.functionArgs
# nl.buildLayer`); any other is an evaluation error naming it (args.nix).
# Every argument but name goes to nixlayer as written (a `? null` default
# means absent); nixlayer (spec.ResolveLayer) applies the defaults.
{ nixlayerBin, system ? builtins.currentSystem }:
let
  toList = x: if builtins.isList x then x else if x == null then [ ] else [ x ];
  argChecks = import ./args.nix;

  buildLayer =
    { name ? "layer"                   # the derivation's name
    , deps ? [ ]                       # the closure of these is the layer's
    , copyToRoot ? [ ]                 # copied to the root of the (top) layer
    , layers ? [ ]                     # buildLayer outputs below: their paths are left out
    , maxLayers ? null, layering ? null
    , perms ? null, uid ? null, gid ? null, mtime ? null
    , compression ? null, architecture ? null
    , contentAddressed ? false         # a content-addressed derivation (ca-derivations)
    , ...                              # any other: an error (args.nix)
    }@args:
    assert argChecks.check { buildLayer = builtins.functionArgs buildLayer; } "buildLayer" args;
    let
      rest = builtins.removeAttrs args [ "name" "deps" "copyToRoot" "layers" "contentAddressed" ];
      given = builtins.removeAttrs rest (builtins.filter (n: rest.${n} == null) (builtins.attrNames rest));
    in
    derivation (argChecks.caAttrs contentAddressed // {
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
    });
in
buildLayer

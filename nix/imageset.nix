# buildImageSet: the images of a set, each layered over the union closure
# of all of them so that a store path several images hold is in the same
# layer, with the same bytes, in each (README, "Sets of images").
#
#   nl.buildImageSet {
#     maxLayers = 100;
#     images = {
#       api = { contents = [ api ]; config.Cmd = [ "/bin/api" ]; };
#       worker = { builder = "streamLayeredImage"; contents = [ worker ]; };
#     };
#   }
#   => { api = <image>; worker = <stream>; }
#
# Each image is its builder's (buildLayeredImage by default, or
# buildLayeredImageWithNixDb, streamLayeredImage) with every argument but
# maxLayers and layering, which are the set's; `name` defaults to the
# attribute name. Each image's derivation is the builder's with the union
# closure of every image as its closure graph and the set's members in its
# spec (spec.ImageSet), so every image computes the same partition at
# build time; no import-from-derivation. Each image has the passthru
# imageSet = { names; report; }: report is a text file (nixlayer
# set-report) with the set's unique blob bytes, each image's layers and the
# layers each pair of images shares.
# Imported by default.nix:
#   import ./imageset.nix { inherit nixlayerBin system builders; }
{ nixlayerBin, system, builders }:
let
  layeredBuilders = [ "buildLayeredImage" "buildLayeredImageWithNixDb" "streamLayeredImage" ];
  setOnly = [ "maxLayers" "layering" ];
  inherit (builtins) attrNames concatMap filter length map listToAttrs concatStringsSep;

  # The image a member's arguments make on its own (its builder's
  # derivation), before it joins the set.
  alone = setArgs: n: a:
    let
      fn = a.builder or "buildLayeredImage";
      given = filter (k: a ? ${k}) setOnly;
    in
    assert builtins.elem fn layeredBuilders
      || throw "nixlayer.buildImageSet: image ${n}: builder ${fn} cannot be a member of a set; use one of ${concatStringsSep ", " layeredBuilders}";
    assert given == [ ]
      || throw "nixlayer.buildImageSet: image ${n}: ${concatStringsSep ", " given} is an argument of the set (buildImageSet), not of its images: every image of a set is planned with the same budget";
    assert a.layeringPipeline or null == null
      || throw "nixlayer.buildImageSet: image ${n}: layeringPipeline is not for an image of a set: the set plans the layers of its images together, over their union closure (build the image alone to use a pipeline)";
    builders.${fn} ({ name = n; } // builtins.removeAttrs a [ "builder" ]
      // (if setArgs.maxLayers or null != null then { inherit (setArgs) maxLayers; } else { }));

  platformOf = img: "${img.drvAttrs.nixlayer.architecture or img.drvAttrs.system}${if img.drvAttrs.nixlayer ? variant then "/" + img.drvAttrs.nixlayer.variant else ""}";

  buildImageSet =
    { images                                 # name -> the arguments of one image
    , maxLayers ? null                       # every image's maxLayers (default 100)
    }@setArgs:
    assert builtins.isAttrs images && !(images ? outPath)
      || throw "nixlayer.buildImageSet: images must be an attribute set of images' arguments by name (a name cannot be used twice in an attribute set)";
    assert images != { } || throw "nixlayer.buildImageSet: images is empty: a set needs at least one image";
    let
      names = attrNames images;
      solo = builtins.mapAttrs (alone setArgs) images;
      platforms = map (n: { inherit n; p = platformOf solo.${n}; }) names;
      first = builtins.head platforms;
      odd = filter (x: x.p != first.p) platforms;
      roots = img: img.drvAttrs.exportReferencesGraph.closure;
      members = builtins.mapAttrs (_: img: {
        roots = roots img;
        layers = img.drvAttrs.nixlayer.layers or [ ];
        reserved = (if img.drvAttrs.nixlayer.includeNixDB or false then 1 else 0) + length (img.drvAttrs.nixlayer.layers or [ ]);
      }) solo;
      union = concatMap (n: roots solo.${n}) names;
      report = derivation {
        name = "image-set-report";
        inherit system;
        builder = nixlayerBin;
        args = [ "set-report" ];
        __structuredAttrs = true;
        nixlayer.images = map (n: { name = n; path = "${set.${n}}"; }) names;
        allowSubstitutes = false;
        preferLocalBuild = true;
      };
      member = n: img:
        let
          drv = derivation (img.drvAttrs // {
            exportReferencesGraph.closure = union;
            nixlayer = img.drvAttrs.nixlayer // { imageSet = { member = n; inherit members; }; };
          });
          args = images.${n};
        in
        img // drv // {
          imageTag = if args.tag or null != null then img.imageTag else builtins.substring 0 32 (baseNameOf drv.outPath);
          imageSet = { inherit names report; };
          # The set built again with this image's arguments changed.
          override = new: (buildImageSet (setArgs // {
            images = images // { ${n} = args // (if builtins.isFunction new then new args else new); };
          })).${n};
        } // (if img ? stream then { stream = throw "nixlayer.buildImageSet: image ${n}: .stream of a set's image is not planned with the set; give the image builder = \"streamLayeredImage\""; } else { });
      set = builtins.mapAttrs member solo;
    in
    assert odd == [ ]
      || throw "nixlayer.buildImageSet: images ${first.n} (${first.p}) and ${(builtins.head odd).n} (${(builtins.head odd).p}) are for different platforms: a set is planned for one platform; build one set per platform and join the images with buildImageIndex";
    set;
in
{ inherit buildImageSet; }

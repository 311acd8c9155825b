# nixlayer's Nix functions: drop-in replacements for nixpkgs dockerTools
# whose builder is the static nixlayer binary itself (no stdenv, no shell).
#
#   let nl = import ./nix { nixlayer = <derivation or path with bin/nixlayer>; };
#   in nl.buildImage { name = "hello"; contents = [ hello ]; config.Cmd = [ "/bin/hello" ]; }
#
# With `pkgs` (nixpkgs) instead of `nixlayer`, the binary is built from
# source by ./package.nix. The arguments each function takes are those of
# its pattern (`builtins.functionArgs nl.buildImage`); any other is an
# evaluation error naming it (./args.nix).
{ nixlayer ? null, pkgs ? null, system ? builtins.currentSystem }:
let
  nixlayerPkg =
    if nixlayer != null then nixlayer
    else if pkgs != null then pkgs.callPackage ./package.nix { }
    else throw "nixlayer: give `nixlayer` (a derivation or path holding bin/nixlayer) or `pkgs` (nixpkgs, to build nixlayer from source)";
  nixlayerBin = "${nixlayerPkg}/bin/nixlayer";

  argChecks = import ./args.nix;
  inherit (argChecks) lower caAttrs;

  toList = x: if builtins.isList x then x else if x == null then [ ] else [ x ];

  # A store path's string: a Nix path (./dir) is copied into the store,
  # a derivation gives its output path.
  storeString = x: if builtins.isPath x then "${x}" else toString x;

  # A derivation whose $out is a tree of files and symlinks, written by
  # nixlayer (no shell).
  writeFiles = name: tree: derivation {
    inherit name system;
    builder = nixlayerBin;
    args = [ "write-files" ];
    __structuredAttrs = true;
    nixlayer = tree;
    preferLocalBuild = true;
    allowSubstitutes = false;
  };

  # The store paths the arguments name, besides contents: a file holding
  # them as JSON, whose references Nix finds by scanning it (as dockerTools
  # does with the config's JSON). Its closure goes into the closure graph;
  # nixlayer leaves the file itself out of the image. null when they name
  # no store path. The scripts' store paths have a file of their own: they
  # are the scripts' inputs, and in the image only when what the scripts
  # leave refers to them (nixlayer scans it, as Nix scans an output).
  namedArgs = [ "config" "symlinks" "files" "directories" "perms" "users" ];
  scriptArgs = [ "extraCommands" "runAsRoot" "fakeRootCommands" ];
  references = name: names: args:
    let text = builtins.toJSON (builtins.intersectAttrs (builtins.listToAttrs (map (n: { name = n; value = null; }) names)) args);
    in if builtins.hasContext text then writeFiles name { files.references = text; } else null;

  # The derivation every image builder makes: nixlayer reads `nixlayer`
  # (the options) and `closure` (the store paths with their references)
  # from the structured attrs.
  mkImage = { drvName, command ? "build-image", roots, spec, contentAddressed ? false }:
    derivation (caAttrs contentAddressed // {
      name = drvName;
      inherit system;
      builder = nixlayerBin;
      args = [ command ];
      __structuredAttrs = true;
      exportReferencesGraph.closure = roots ++ spec.layers or [ ]; # layers: nl.buildLayer outputs
      nixlayer = spec;
      # Images are large and cheap to rebuild; do not fetch them.
      allowSubstitutes = false;
      preferLocalBuild = true;
    });

  # The store name of an image: dockerTools' (docker-image-NAME for
  # buildImage, NAME for the layered builders) with the suffix of what the
  # file is. A docker-archive is an uncompressed tar of compressed layers,
  # so it is ".tar" whatever the compression (dockerTools' ".tar.gz" is a
  # gzipped tar of uncompressed layers; docker load reads both).
  outputName = prefix: name: format:
    let base = "${prefix}${baseNameOf name}";
    in if format == "oci-layout" then base
       else if format == "oci-archive" then "${base}.oci.tar"
       else "${base}.tar";

  # A declared file: text, a store path or Nix path (its content), or
  # { text | source; mode; }.
  fileSpec = v:
    if builtins.isAttrs v && !(v ? outPath) then v // (if v ? source then { source = storeString v.source; } else { })
    else if builtins.isPath v || builtins.isAttrs v then { source = "${v}"; }
    else if builtins.hasContext v && builtins.match "${builtins.storeDir}/[^\n ]+" v != null then { source = v; }
    else { text = v; };

  # The arguments nixlayer reads as the user wrote them: an argument the
  # user did not give (or gave as null) is not passed, and nixlayer
  # (spec.Resolve) applies its default. No default lives here.
  given = names: args:
    let g = builtins.intersectAttrs (builtins.listToAttrs (map (n: { name = n; value = null; }) names)) args;
    in builtins.removeAttrs g (builtins.filter (n: g.${n} == null) (builtins.attrNames g));

  # The arguments default.nix reads itself; nixlayer (spec.Spec) reads
  # every other argument of a builder's pattern, as the user wrote it.
  special = [
    "name" "contents" "copyToRoot" "fromImage" "files" "shell"
    "debug" "passthru" "meta" "layers"
    "contentAddressed"
  ];

  # The arguments each image builder takes: its pattern's.
  takes = builtins.mapAttrs (_: builtins.functionArgs) builders;

  # The spec (spec.Spec) and the closure roots of one image. args is the
  # pattern's @-binding: what the user wrote, no default; every argument of
  # fn's pattern but the special ones goes to nixlayer as given there. v
  # holds the special ones with the pattern's defaults.
  image = fn: args: v:
    let inherit (v) name contents copyToRoot fromImage files extraCommands shell includeStorePaths layers; in
    assert argChecks.check takes fn args;
    assert extraCommands == null || shell != null
      || throw "nixlayer: extraCommands needs a shell to run it: give `shell` (e.g. \"\${bash}/bin/bash\"), or `pkgs` to the nixlayer import (its runtimeShell is the default)";
    assert builtins.all (a: args.${a} or null == null || builtins.substring 0 2 args.${a} == "#!" || shell != null) [ "runAsRoot" "fakeRootCommands" ]
      || throw "nixlayer.${fn}: ${if args.runAsRoot or null != null then "runAsRoot" else "fakeRootCommands"} needs a shell to run it: give `shell` (e.g. \"\${bash}/bin/bash\"), start the script with a #! line, or give `pkgs` to the nixlayer import (its runtimeShell is the default)";
    let
      roots = map storeString (toList contents ++ toList copyToRoot);
      # A root script's store paths (its shell, its tools) are in the
      # closure the script sees, even when the image leaves them out.
      script = args.runAsRoot or null != null || args.fakeRootCommands or null != null;
      refs = if includeStorePaths || script then references "nixlayer-references" namedArgs args else null;
      scriptRefs = if includeStorePaths || script then references "nixlayer-script-references" scriptArgs args else null;
      nonNull = builtins.filter (x: x != null);
      passed = builtins.filter (n: !(builtins.elem n special)) (builtins.attrNames takes.${fn});
    in {
      roots = roots ++ nonNull [ refs scriptRefs ];
      spec = given passed args // {
        function = if fn == "buildImageWithNixDb" then "buildImage" else if fn == "buildLayeredImageWithNixDb" then "buildLayeredImage" else fn;
        # The builder's kind: Go chooses the default layering and the root
        # script the builder takes from it, never from the function's name.
        layered = fn != "buildImage" && fn != "buildImageWithNixDb";
        inherit name system;
        contents = roots;
        # The base image is an input of the build, not part of the closure.
        ${if fromImage != null then "fromImage" else null} = "${fromImage}";
        ${if files != { } then "files" else null} = builtins.mapAttrs (_: fileSpec) files;
        ${if (extraCommands != null || script) && shell != null then "shell" else null} = "${shell}";
        ${if refs != null then "references" else null} = "${refs}";
        ${if scriptRefs != null then "scriptReferences" else null} = "${scriptRefs}";
        # The meta (license, homepage, description) of the contents, for the SBOM.
        ${if args.sbom or null == false then null else "sbomMeta"} = import ./sbom.nix (toList contents ++ toList copyToRoot);
        # The manifest's annotations: those of the builder's meta, then the
        # user's, a null removing a default (nixlayer adds created, version
        # and the base's); false: none at all.
        annotations =
          let a = args.annotations or null; in
          if a == false then false
          else if a == null || a == true || builtins.isAttrs a then (import ./meta.nix).annotations (lower name) (args.meta or { }) // (if builtins.isAttrs a then a else { })
          else throw "nixlayer.${fn} ${name}: annotations must be an attribute set of strings (null removes a default), true or false, not a ${builtins.typeOf a}";
        # nl.buildLayer outputs: inputs of the build (mkImage adds their closure).
        ${if layers != [ ] then "layers" else null} = map storeString (toList layers);
      };
    };

  # The result of a builder: the derivation with dockerTools' passthrus
  # (imageName, imageTag, conf, buildArgs), the user's passthru and meta, and
  # .override (the same builder with changed arguments).
  result = fn: args: drv: extra:
    drv // {
      imageName = lower args.name;
      # A content-addressed output's path is known after its build only.
      imageTag = if args.tag or null != null then lower args.tag
        else if args.contentAddressed or false then throw "nixlayer.${fn} ${args.name}: a content-addressed image has no imageTag until it is built (the default tag is its output hash): give `tag`"
        else builtins.substring 0 32 (baseNameOf drv.outPath);
      conf = args.config or { };
      # The arguments as the user gave them (dockerTools' buildImage has it).
      buildArgs = args;
      override = new: builders.${fn} (args // (if builtins.isFunction new then new args else new));
    } // extra // (args.passthru or { }) // (if args ? meta then { inherit (args) meta; } else { });

  # A derivation whose $out is one layer of the image img, uncompressed
  # (n: 1 the bottom one, -1 the top one), written by `nixlayer export
  # --layer`: buildImage's `layer` passthru.
  layerOf = n: name: img: derivation {
    name = "docker-layer-${baseNameOf name}.tar";
    inherit system;
    builder = nixlayerBin;
    args = [ "export" "--layer" (toString n) "--out" (builtins.placeholder "out") "${img}" ];
    allowSubstitutes = false;
    preferLocalBuild = true;
  };

  # What each builder adds to image: its derivation's name, spec fields
  # of its own, and attributes of its result (extra: a function of the
  # arguments and the derivation).
  kinds = {
    # One layer: the closure under /nix/store and the contents copied to
    # the root. `layer` is that layer as a tar (dockerTools' passthru: its
    # layer derivation).
    buildImage = {
      drvName = args: outputName "docker-image-" args.name (args.format or null);
      extra = args: drv: { layer = layerOf (-1) args.name drv; };
    };
    # buildImage with the Nix database of the image's store paths inside
    # (a layer of its own, on top: `layer` is the one below it).
    buildImageWithNixDb = kinds.buildImage // {
      spec.includeNixDB = true;
      extra = args: drv: { layer = layerOf (-2) args.name drv; };
    };
    # Like buildImage, but each popular store path gets its own layer
    # (nixpkgs' popularity contest, or layering = "size"), shared between
    # images. `stream` is the same image as a streamLayeredImage.
    buildLayeredImage = {
      drvName = args: outputName "" args.name (args.format or null);
      extra = args: _: { stream = builders.streamLayeredImage (builtins.removeAttrs args [ "format" ]); };
    };
    # Like buildLayeredImage with includeNixDB; the database has its own top
    # layer, so the store-path layers stay shareable.
    buildLayeredImageWithNixDb = { inherit (kinds.buildLayeredImage) drvName; spec.includeNixDB = true; };
    # $out is a small executable; running it writes the image to stdout:
    #   $(nix-build -A image) | docker load
    # Layers are uncompressed unless compression says otherwise (nixlayer's
    # default for a stream).
    # `conf` is a derivation, as dockerTools': a JSON file describing the
    # image (its config, layers, digests and store paths: `nixlayer
    # inspect --json` of the script); `streamScript` is the script itself
    # (dockerTools': a generic script run with conf).
    streamLayeredImage = {
      drvName = args: "stream-${baseNameOf args.name}";
      spec.stream = true;
      extra = args: drv: {
        isExe = true;
        streamScript = drv;
        conf = derivation {
          name = "${baseNameOf args.name}-conf.json";
          inherit system;
          builder = nixlayerBin;
          args = [ "inspect" "--json" "--out" (builtins.placeholder "out") "${drv}" ];
          allowSubstitutes = false;
          preferLocalBuild = true;
        };
      };
    };
  };

  # The builder fn, given its arguments (args, as the user wrote them) and
  # the special ones with their defaults (v).
  build = fn: args: v:
    let
      k = kinds.${fn};
      i = image fn args v;
      drv = mkImage { drvName = k.drvName args; inherit (i) roots; inherit (v) contentAddressed; spec = i.spec // k.spec or { }; };
    in result fn args drv (k.extra or (_: _: { }) args drv);

  # The arguments of the image builders are their patterns': what
  # `builtins.functionArgs`, `nix repl` and editors show, and all the check
  # (args.nix) accepts. A `? null` default means "absent": the argument is
  # not passed and nixlayer applies its default (README, "Arguments"; Go's
  # spec.Resolve); the other defaults are Nix's own, used here.
  # imageBuilder's pattern is buildImage's, layeredImageBuilder's the
  # layered builders'; both list the arguments every builder takes in the
  # same order (an error message lists them so), then their own.
  #
  # To add an argument: add it to the patterns of the builders that take
  # it, with `? null`, and its field to spec.Spec (tests/nixargs_test.go
  # fails until both agree); nixlayer then gets it as the user wrote it.
  # An argument Nix must turn into something else first (derivations to
  # build, paths) goes into `special` too, and image passes what nixlayer
  # needs.
  imageBuilder = fn:
    { name                                   # image name, lowercased
    , tag ? null                             # absent: the output's hash
    , contents ? [ ], copyToRoot ? null      # the image root
    , config ? null, created ? null, mtime ? null
    , uid ? null, gid ? null, uname ? null, gname ? null
    , architecture ? null, variant ? null
    , format ? null, compression ? null, compressor ? null
    , includeStorePaths ? true, includeNixDB ? null
    , nixUid ? null, nixGid ? null, nixUname ? null, nixGname ? null
    , fromImage ? null, fromImageName ? null, fromImageTag ? null
    , layers ? [ ]                           # nl.buildLayer outputs, bottom first
    , users ? null, groups ? null, perms ? null, symlinks ? null, files ? { }, directories ? null
    , extraCommands ? null, shell ? defaultShell
    , sbom ? null, provenance ? null
    , annotations ? null                     # OCI annotations over the defaults (null removes one); false: none
    , contentAddressed ? false               # a content-addressed derivation (ca-derivations)
    , debug ? false, passthru ? { }, meta ? { }
    , runAsRoot ? null, keepContentsDirlinks ? null # buildImage's own
    , ...                                    # any other: an error (args.nix)
    }@args:
    build fn args { inherit name contents copyToRoot fromImage files extraCommands shell includeStorePaths layers contentAddressed; };

  layeredImageBuilder = fn:
    { name                                   # image name, lowercased
    , tag ? null                             # absent: the output's hash
    , contents ? [ ], copyToRoot ? null      # the image root
    , config ? null, created ? null, mtime ? null
    , uid ? null, gid ? null, uname ? null, gname ? null
    , architecture ? null, variant ? null
    , format ? null, compression ? null, compressor ? null
    , includeStorePaths ? true, includeNixDB ? null
    , nixUid ? null, nixGid ? null, nixUname ? null, nixGname ? null
    , fromImage ? null, fromImageName ? null, fromImageTag ? null
    , layers ? [ ]                           # nl.buildLayer outputs, bottom first
    , users ? null, groups ? null, perms ? null, symlinks ? null, files ? { }, directories ? null
    , extraCommands ? null, shell ? defaultShell
    , sbom ? null, provenance ? null
    , annotations ? null                     # OCI annotations over the defaults (null removes one); false: none
    , contentAddressed ? false               # a content-addressed derivation (ca-derivations)
    , debug ? false, passthru ? { }, meta ? { }
    , maxLayers ? null, layering ? null      # the layered builders' own
    , layeringPipeline ? null                # nixpkgs' steps over the closure graph (README, "Layering strategies")
    , fakeRootCommands ? null, enableFakechroot ? null
    , ...                                    # any other: an error (args.nix)
    }@args:
    build fn args { inherit name contents copyToRoot fromImage files extraCommands shell includeStorePaths layers contentAddressed; };

  # The shell of extraCommands and root scripts without `shell`.
  defaultShell = if pkgs != null then pkgs.runtimeShell else null;

  # The builders by name, for .override.
  builders = {
    buildImage = imageBuilder "buildImage";
    buildImageWithNixDb = imageBuilder "buildImageWithNixDb";
    buildLayeredImage = layeredImageBuilder "buildLayeredImage";
    buildLayeredImageWithNixDb = layeredImageBuilder "buildLayeredImageWithNixDb";
    streamLayeredImage = layeredImageBuilder "streamLayeredImage";
  };

  # writeImageStream (newer nixpkgs' dockerTools): the archive a stream
  # script (streamLayeredImage) writes, as a file in the store, the whole
  # archive compressed by `compressor` ("none", "gz" or "zstd") as
  # nixpkgs does; named NAME.tar, NAME.tar.gz or NAME.tar.zst. Written by
  # `nixlayer stream` (no shell); `docker load` reads it.
  writeImageStream = { name, stream, compressor ? "none", meta ? { } }:
    let ext = { none = ""; gz = ".gz"; zstd = ".zst"; }.${compressor}
      or (throw "nixlayer.writeImageStream ${name}: unknown compressor \"${compressor}\": use \"none\", \"gz\" or \"zstd\"");
    in derivation {
      name = "${baseNameOf name}.tar${ext}";
      inherit system;
      builder = nixlayerBin;
      args = [ "stream" "--compressor" compressor "-o" (builtins.placeholder "out") "${stream}" ];
      allowSubstitutes = false;
      preferLocalBuild = true;
    } // { inherit meta; }
      # The reference the archive loads as, when the stream has it.
      // builtins.intersectAttrs { imageName = null; imageTag = null; } (if builtins.isAttrs stream then stream else { });

  # nixpkgs' closureInfo, without stdenv: $out/{registration,store-paths,total-nar-size}.
  closureInfo = import ./closure-info.nix { inherit nixlayerBin system; };
  helpers = import ./helpers.nix { inherit pkgs writeFiles; };
in
builders // {
  inherit closureInfo writeImageStream;
  inherit (import ./pull.nix { inherit nixlayerBin system; }) pullImage pullImageFromLock;
  inherit (import ./push.nix { inherit nixlayerBin system; }) copyToRegistry copyToDockerDaemon copyToPodman copyTo;
  inherit (import ./export.nix { inherit nixlayerBin system; }) exportImage;
  inherit (import ./index.nix { inherit nixlayerBin system lower; }) buildImageIndex;
  inherit (import ./merge.nix { inherit nixlayerBin system; }) mergeImages;
  inherit (import ./imageset.nix { inherit nixlayerBin system builders; }) buildImageSet;
  inherit (helpers) fakeNss binSh usrBinEnv caCertificates shadowSetup;
  inherit (import ./nixshell.nix { inherit pkgs writeFiles writeImageStream argChecks; inherit (builders) streamLayeredImage; })
    streamNixShellImage buildNixShellImage;
  inherit nixlayerBin;
  buildLayer = import ./layer.nix { inherit nixlayerBin system; };
  nixlayer = nixlayerPkg;
}

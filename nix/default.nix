# nixlayer's Nix functions: drop-in replacements for nixpkgs dockerTools
# whose builder is the static nixlayer binary itself (no stdenv, no shell).
#
#   let nl = import ./nix { nixlayer = <derivation or path with bin/nixlayer>; };
#   in nl.buildImage { name = "hello"; contents = [ hello ]; config.Cmd = [ "/bin/hello" ]; }
#
# With `pkgs` (nixpkgs) instead of `nixlayer`, the binary is built from
# source by ./package.nix.
{ nixlayer ? null, pkgs ? null, system ? builtins.currentSystem }:
let
  nixlayerPkg =
    if nixlayer != null then nixlayer
    else if pkgs != null then pkgs.callPackage ./package.nix { }
    else throw "nixlayer: give `nixlayer` (a derivation or path holding bin/nixlayer) or `pkgs` (nixpkgs, to build nixlayer from source)";
  nixlayerBin = "${nixlayerPkg}/bin/nixlayer";

  toLower = s:
    let up = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"; low = "abcdefghijklmnopqrstuvwxyz";
    in builtins.replaceStrings (builtins.genList (i: builtins.substring i 1 up) 26) (builtins.genList (i: builtins.substring i 1 low) 26) s;

  toList = x: if builtins.isList x then x else if x == null then [ ] else [ x ];

  # Arguments of dockerTools that need a VM, a shell or fakeroot: nixlayer
  # declares instead (see README, "Migrating from dockerTools").
  refuse = fn: args: bad:
    let given = builtins.filter (a: args ? ${a} && args.${a} != null) bad;
    in if given == [ ] then true
       else throw "nixlayer.${fn}: ${builtins.concatStringsSep ", " given} is not supported: nixlayer needs no VM or fakeroot; declare files, users and permissions instead (README)";

  # The derivation every image builder makes: nixlayer reads `nixlayer`
  # (the options) and `closure` (the store paths with their references)
  # from the structured attrs.
  mkImage = { drvName, command ? "build-image", roots, spec }:
    let drv = derivation {
      name = drvName;
      inherit system;
      builder = nixlayerBin;
      args = [ command ];
      __structuredAttrs = true;
      exportReferencesGraph.closure = roots;
      nixlayer = spec;
      # Images are large and cheap to rebuild; do not fetch them.
      allowSubstitutes = false;
      preferLocalBuild = true;
    };
    # As dockerTools: the reference the image is tagged with (copyToRegistry's
    # default destination). Not part of the derivation.
    in drv // {
      imageName = toLower spec.name;
      imageTag = if spec.tag or null == null then builtins.substring 0 32 (baseNameOf drv.outPath) else toLower spec.tag;
    };

  outputName = name: format: compression:
    let base = "docker-image-${baseNameOf name}";
    in if format == "oci-layout" then base
       else if format == "oci-archive" then "${base}.oci.tar"
       else if compression == "none" then "${base}.tar"
       else "${base}.tar.gz";

  # A declared file: text, a store path or Nix path (its content), or
  # { text | source; mode; }.
  fileSpec = v:
    if builtins.isAttrs v && !(v ? outPath) then v
    else if builtins.isPath v || builtins.isAttrs v then { source = "${v}"; }
    else if builtins.hasContext v && builtins.match "${builtins.storeDir}/[^\n ]+" v != null then { source = v; }
    else { text = v; };

  # The arguments nixlayer reads as the user wrote them: an argument the
  # user did not give (or gave as null) is not passed, and nixlayer
  # (image.Resolve) applies its default. No default lives here.
  given = names: args:
    let g = builtins.intersectAttrs (builtins.listToAttrs (map (n: { name = n; value = null; }) names)) args;
    in builtins.removeAttrs g (builtins.filter (n: g.${n} == null) (builtins.attrNames g));
  commonArgs = [ "tag" "config" "created" "mtime" "uid" "gid" "architecture" "format"
    "includeNixDB" "nixUid" "nixGid" "nixUname" "nixGname" "fromImageName" "fromImageTag"
    "users" "groups" "perms" "symlinks" "directories" "extraCommands" "sbom" ];

  # The options every builder shares, in the shape nixlayer's image.Spec
  # reads; function names the Nix function, for errors and the default
  # layering.
  commonSpec = function: args@{ name, contents ? [ ], copyToRoot ? null
    , fromImage ? null, compression ? null, compressor ? null, files ? { }
    , extraCommands ? null, shell ? (if pkgs != null then pkgs.runtimeShell else null), ... }:
    assert extraCommands == null || shell != null
      || throw "nixlayer: extraCommands needs a shell to run it: give `shell` (e.g. \"\${bash}/bin/bash\"), or `pkgs` to the nixlayer import (its runtimeShell is the default)";
    given commonArgs args // {
      inherit function name system;
      # The base image is an input of the build, not part of the closure.
      ${if fromImage != null then "fromImage" else null} = "${fromImage}";
      ${if files != { } then "files" else null} = builtins.mapAttrs (_: fileSpec) files;
      ${if extraCommands != null && shell != null then "shell" else null} = "${shell}";
      contents = map toString (toList contents ++ toList copyToRoot);
      ${if args.sbom or null == false then null else "sbomMeta"} = import ./sbom.nix (toList contents ++ toList copyToRoot);
      ${if compression != null || compressor != null then "compression" else null} =
        if compression != null then compression else compressor;
    };

  # The outputs' name: ".tar" for compression "none", else ".tar.gz" (nixlayer's
  # default compression is gzip); absent arguments are null here.
  drvName = name: args: outputName name (args.format or null) (args.compression or args.compressor or null);

  layeredSpec = fn: args:
    assert refuse fn args [ "fakeRootCommands" "enableFakechroot" ];
    commonSpec fn args // given [ "maxLayers" "layering" ] args;

  buildImage = args@{ name, contents ? [ ], copyToRoot ? null, ... }:
    assert refuse "buildImage" args [ "runAsRoot" ];
    mkImage {
      drvName = drvName name args;
      roots = toList contents ++ toList copyToRoot;
      spec = commonSpec "buildImage" args;
    };
  # Like buildImage, but each popular store path gets its own layer (nixpkgs'
  # popularity contest, or layering = "size"), shared between images.
  buildLayeredImage = args@{ name, contents ? [ ], ... }:
    mkImage {
      drvName = drvName name args;
      roots = toList contents;
      spec = layeredSpec "buildLayeredImage" args;
    };

  # $out is a small executable; running it writes the image to stdout:
  #   $(nix-build -A image) | docker load
  # Layers are uncompressed unless compression says otherwise (nixlayer's
  # default for a stream).
  streamLayeredImage = args@{ name, contents ? [ ], ... }:
    mkImage {
      drvName = "stream-${baseNameOf name}";
      roots = toList contents;
      spec = layeredSpec "streamLayeredImage" args // { stream = true; };
    };
  # buildImage with the Nix database of the image's store paths inside.
  buildImageWithNixDb = args: buildImage (args // { includeNixDB = true; });

  # Like buildLayeredImage with includeNixDB; the database has its own top
  # layer, so the store-path layers stay shareable.
  buildLayeredImageWithNixDb = args: buildLayeredImage (args // { includeNixDB = true; });
  # nixpkgs' closureInfo, without stdenv: $out/{registration,store-paths,total-nar-size}.
  closureInfo = import ./closure-info.nix { inherit nixlayerBin system; };
  pullFns = import ./pull.nix { inherit nixlayerBin system; };
in
{
  inherit closureInfo;
  inherit (pullFns) pullImage copyToRegistry copyToDockerDaemon;
  inherit (import ./export.nix { inherit nixlayerBin system; }) exportImage;
  inherit (import ./index.nix { inherit nixlayerBin system; }) buildImageIndex;
  inherit (import ./merge.nix { inherit nixlayerBin system; }) mergeImages;
  inherit buildImage buildLayeredImage streamLayeredImage buildImageWithNixDb buildLayeredImageWithNixDb nixlayerBin;
  nixlayer = nixlayerPkg;
}

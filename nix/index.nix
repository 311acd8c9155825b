# buildImageIndex: join images built for several platforms into one OCI
# image index (a multi-platform tag). The builder is `nixlayer build-index`.
# Imported by default.nix:
#   import ./index.nix { inherit nixlayerBin system lower; }
# where lower is args.nix's ASCII lower-casing, as for the images' names.
{ nixlayerBin, system, lower }:
let
  suffixes = { oci-layout = ""; oci-archive = ".oci.tar"; };
in
{
  # images: nixlayer image outputs (any format, or streamLayeredImage
  # scripts), one per platform; each image's config gives its platform
  # (build them with `architecture`, or for the system they are built on).
  buildImageIndex = { name, tag ? null, images, format ? "oci-layout", annotations ? null }:
    if !(builtins.isList images) || images == [ ]
    then throw "nixlayer.buildImageIndex ${name}: images is empty: give one image per platform"
    else if format == "docker-archive"
    then throw "nixlayer.buildImageIndex ${name}: format \"docker-archive\" cannot hold several platforms: use format = \"oci-layout\" or \"oci-archive\""
    else if !(suffixes ? ${format})
    then throw "nixlayer.buildImageIndex ${name}: unknown format \"${format}\": use oci-layout or oci-archive"
    else
      let drv = derivation {
        name = "docker-image-${baseNameOf name}${suffixes.${format}}";
        inherit system;
        builder = nixlayerBin;
        args = [ "build-index" ];
        __structuredAttrs = true;
        nixlayer = { inherit name format; images = map toString images; }
          // (if tag != null then { inherit tag; } else { })
          // (if annotations != null then { inherit annotations; } else { });
        allowSubstitutes = false;
        preferLocalBuild = true;
      };
      in drv // {
        imageName = lower name;
        imageTag = if tag == null then builtins.substring 0 32 (baseNameOf drv.outPath) else lower tag;
      };
}

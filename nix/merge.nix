# mergeImages: one docker-archive holding every image of a list, written by
# `nixlayer merge-images` (no stdenv, no shell). As dockerTools'
# mergeImages: `docker load` of it loads every image, and the archive is
# compressed as the last image is (gzip, zstd or not at all). The images may
# be docker-archives of any compression, OCI layouts or archives, or stream
# scripts (streamLayeredImage); a blob several images share is stored once.
# Imported by default.nix:
#   import ./merge.nix { inherit nixlayerBin system; }
{ nixlayerBin, system }:
{
  mergeImages = images:
    assert builtins.isList images
      || throw "nixlayer.mergeImages: give a list of images (derivations or paths), as dockerTools.mergeImages takes";
    derivation {
      name = "merge-docker-images";
      inherit system;
      builder = nixlayerBin;
      args = [ "merge-images" ];
      __structuredAttrs = true;
      # An image's imageName/imageTag name it where its file does not (an
      # OCI layout names its tag only).
      nixlayer.images = map (img: { path = "${img}"; }
        // (if builtins.isAttrs img && img ? imageName then { name = img.imageName; } else { })
        // (if builtins.isAttrs img && img ? imageTag then { tag = img.imageTag; } else { })) images;
      allowSubstitutes = false;
      preferLocalBuild = true;
    };
}

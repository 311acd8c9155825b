# exportImage: the flattened root filesystem of an image as a tar file,
# written by `nixlayer export` (no VM, no root, deterministic). The
# arguments are dockerTools.exportImage's. Imported by default.nix:
#   import ./export.nix { inherit nixlayerBin system; }
{ nixlayerBin, system }:
{
  exportImage =
    { fromImage                 # docker-archive, oci-archive or OCI layout (derivation or path)
    , fromImageName ? null      # pick one image of an archive holding several
    , fromImageTag ? null
    , name ? (if builtins.isAttrs fromImage && fromImage ? name
              then fromImage.name
              else baseNameOf (toString fromImage))
    , diskSize ? null           # dockerTools' VM disk size: refused, as by the builders
    }:
    if diskSize != null
    then throw "nixlayer.exportImage: diskSize is not supported: nixlayer runs no VM: not needed; remove it"
    else derivation {
      inherit name system;
      builder = nixlayerBin;
      args = [ "export" "--out" (builtins.placeholder "out") ]
        ++ (if fromImageName != null then [ "--name" fromImageName ] else [ ])
        ++ (if fromImageTag != null then [ "--tag" fromImageTag ] else [ ])
        ++ [ "${fromImage}" ];
    };
}

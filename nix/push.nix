# nixlayer's copyToRegistry and copyToDockerDaemon: apps that run
# `nixlayer push` (cmd_push.go, package push/), written by nixlayer itself.
# Imported by default.nix:
#   import ./push.nix { inherit nixlayerBin system; }
{ nixlayerBin, system }:
let
  # An executable $out/bin/<name> holding text, written by nixlayer itself
  # (no shell or stdenv at build time).
  writeApp = name: text: derivation {
    inherit name system;
    builder = nixlayerBin;
    args = [ "write-app" ];
    __structuredAttrs = true;
    nixlayer = { inherit name text; };
    preferLocalBuild = true;
    allowSubstitutes = false;
  };

  # Accept an image (a derivation, path or string) or { image, ... }. A
  # path or string cannot match an attribute-set pattern, so
  # copyToRegistry and copyToDockerDaemon take `arg` and
  # builtins.functionArgs shows no argument of theirs: they are
  # { image, destination ? null, tlsVerify ? true, signKey ? null,
  # signKeyPasswordEnv ? null, name ? … } and
  # { image, tag ? null, name ? … }, the defaults below.
  imageArgs = arg:
    if builtins.isAttrs arg && !(arg ? type && arg.type == "derivation") then arg else { image = arg; };

  shellQuote = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # The image's own NAME:TAG when its derivation says (nix2container's
  # imageName/imageTag attributes), else null.
  defaultDest = image:
    if image ? imageName && image ? imageTag then "${image.imageName}:${image.imageTag}" else null;
in
{
  # An app that pushes an image (docker-archive, OCI layout or archive, or
  # a streamLayeredImage script) to a registry:
  #   $(nix-build -A push)/bin/copy-to-registry [DEST] [nixlayer push flags]
  # DEST defaults to `destination`, else to the image's imageName:imageTag.
  copyToRegistry = arg:
    let
      a = { destination = null; tlsVerify = true; signKey = null; signKeyPasswordEnv = null; name = "copy-to-registry"; } // imageArgs arg;
      dest = if a.destination != null then a.destination else defaultDest a.image;
      # The key is read when the app runs: a string naming it. A Nix path
      # would copy the private key into the world-readable store.
      signFlags =
        if a.signKey == null then ""
        else if builtins.isPath a.signKey || builtins.isAttrs a.signKey then
          throw "nixlayer.copyToRegistry: signKey must be a string naming the key file where the app runs (\"/run/secrets/cosign.key\"), not a Nix path: that would copy the private key into the store"
        else "--sign-key ${shellQuote a.signKey} "
          + (if a.signKeyPasswordEnv == null then "" else "--sign-key-password-env ${shellQuote a.signKeyPasswordEnv} ");
    in writeApp a.name ''
      #!/bin/sh
      # Pushes ${a.image} with nixlayer.
      set -e
      if [ $# -ge 1 ] && [ "''${1#-}" = "$1" ]; then dest=$1; shift
      ${if dest != null then "else dest=${shellQuote dest}" else ''else echo "usage: $0 DEST [nixlayer push flags]" >&2; exit 2''}
      fi
      exec ${nixlayerBin} push ${if a.tlsVerify then "" else "--insecure "}${signFlags}"$@" ${a.image} "$dest"
    '';

  # An app that streams an image into `docker load`:
  #   $(nix-build -A load)/bin/copy-to-docker-daemon [NAME:TAG]
  # A docker-archive or stream loads with its own tags unless NAME:TAG is
  # given; an OCI layout needs one (`tag` here, or the argument).
  copyToDockerDaemon = arg:
    let
      a = { tag = null; name = "copy-to-docker-daemon"; } // imageArgs arg;
      tag = if a.tag != null then a.tag else defaultDest a.image;
    in writeApp a.name ''
      #!/bin/sh
      # Loads ${a.image} into Docker with nixlayer.
      set -e
      if [ $# -ge 1 ] && [ "''${1#-}" = "$1" ]; then tag=$1; shift; else tag=${if tag != null then shellQuote tag else "''"}; fi
      exec ${nixlayerBin} push "$@" ${a.image} "docker-daemon:$tag"
    '';
}

# nixlayer's copyToRegistry, copyToDockerDaemon, copyToPodman and copyTo:
# apps that run `nixlayer push` (cmd_push.go, package push/), written by
# nixlayer itself.
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
  # path or string cannot match an attribute-set pattern, so the copyTo
  # functions take `arg` and builtins.functionArgs shows no argument of
  # theirs: copyToRegistry and copyTo are
  # { image, destination ? null, tlsVerify ? true, name ? … },
  # copyToDockerDaemon and copyToPodman { image, tag ? null, name ? … },
  # the defaults below.
  imageArgs = arg:
    if builtins.isAttrs arg && !(arg ? type && arg.type == "derivation") then arg else { image = arg; };

  shellQuote = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # The image's own NAME:TAG when its derivation says (nix2container's
  # imageName/imageTag attributes), else null.
  defaultDest = image:
    if image ? imageName && image ? imageTag then "${image.imageName}:${image.imageTag}" else null;

  # An app that runs `nixlayer push [flags] IMAGE DEST`: DEST is its first
  # argument unless that is a flag, else dest (null: it must be given).
  pushApp = { name, image, dest, flags ? "", what }: writeApp name ''
    #!/bin/sh
    # ${what} ${image} with nixlayer.
    set -e
    if [ $# -ge 1 ] && [ "''${1#-}" = "$1" ]; then dest=$1; shift
    ${if dest != null then "else dest=${shellQuote dest}" else ''else echo "usage: $0 DEST [nixlayer push flags]" >&2; exit 2''}
    fi
    exec ${nixlayerBin} push ${flags}"$@" ${image} "$dest"
  '';

  # An app that loads an image into a daemon or store (prefix, e.g.
  # "docker-daemon:"): `app [NAME:TAG] [nixlayer push flags]`. A
  # docker-archive or stream loads with its own tags unless NAME:TAG (or
  # tag, or the image's imageName:imageTag) is given; an OCI layout needs
  # one.
  loadApp = { prefix, defaultName, what }: arg:
    let
      a = { tag = null; name = defaultName; } // imageArgs arg;
      tag = if a.tag != null then a.tag else defaultDest a.image;
    in writeApp a.name ''
      #!/bin/sh
      # ${what} ${a.image} with nixlayer.
      set -e
      if [ $# -ge 1 ] && [ "''${1#-}" = "$1" ]; then tag=$1; shift; else tag=${if tag != null then shellQuote tag else "''"}; fi
      exec ${nixlayerBin} push "$@" ${a.image} "${prefix}$tag"
    '';

  # The arguments of copyToRegistry and copyTo, defaulted.
  pushArgs = name: arg: { destination = null; tlsVerify = true; inherit name; } // imageArgs arg;
  insecure = a: if a.tlsVerify then "" else "--insecure ";
in
{
  # An app that pushes an image (docker-archive, OCI layout or archive, or
  # a streamLayeredImage script) to a registry:
  #   $(nix-build -A push)/bin/copy-to-registry [DEST] [nixlayer push flags]
  # DEST defaults to `destination`, else to the image's imageName:imageTag.
  copyToRegistry = arg:
    let a = pushArgs "copy-to-registry" arg; in
    pushApp {
      inherit (a) name image;
      dest = if a.destination != null then a.destination else defaultDest a.image;
      flags = insecure a;
      what = "Pushes";
    };

  # An app that puts an image at any destination nixlayer push knows
  # (nix2container's copyTo):
  #   $(nix-build -A copy)/bin/copy-to DEST [nixlayer push flags]
  # DEST: NAME[:TAG] or docker://NAME[:TAG] (a registry),
  # docker-daemon:[NAME:TAG], containers-storage:[NAME:TAG] (podman),
  # containerd:[NAME:TAG] (with --containerd-address and
  # --containerd-namespace, or $CONTAINERD_ADDRESS and
  # $CONTAINERD_NAMESPACE). DEST defaults to `destination`.
  copyTo = arg:
    let a = pushArgs "copy-to" arg; in
    pushApp { inherit (a) name image; dest = a.destination; flags = insecure a; what = "Copies"; };

  # An app that streams an image into `docker load`:
  #   $(nix-build -A load)/bin/copy-to-docker-daemon [NAME:TAG]
  copyToDockerDaemon = loadApp { prefix = "docker-daemon:"; defaultName = "copy-to-docker-daemon"; what = "Loads into Docker"; };

  # An app that streams an image into `podman load` (nix2container's
  # copyToPodman); the store is podman's (containers-storage.conf,
  # $CONTAINERS_STORAGE_CONF):
  #   $(nix-build -A podman)/bin/copy-to-podman [NAME:TAG]
  copyToPodman = loadApp { prefix = "containers-storage:"; defaultName = "copy-to-podman"; what = "Loads into podman"; };
}

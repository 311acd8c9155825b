# nixlayer's registry functions: pullImage (a fixed-output derivation whose
# builder is `nixlayer pull`), copyToRegistry and copyToDockerDaemon (apps
# that run `nixlayer push`). Imported by default.nix:
#   import ./pull.nix { inherit nixlayerBin system; }
{ nixlayerBin, system }:
let
  # A store name from an image name: no "/", ":" or "@".
  fixName = builtins.replaceStrings [ "/" ":" "@" ] [ "-" "-" "-" ];

  suffixes = { docker-archive = ".tar"; oci-archive = ".oci.tar"; oci-layout = ""; };

  # The proxies a fixed-output derivation may see, and where credentials
  # and CA certificates come from.
  impureEnvVars = [
    "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy"
    "HTTP_PROXY" "HTTPS_PROXY" "FTP_PROXY" "ALL_PROXY" "NO_PROXY"
    "DOCKER_CONFIG" "NIX_SSL_CERT_FILE" "SSL_CERT_FILE"
  ];

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

  # Accept an image (a derivation, path or string) or { image, ... }.
  imageArgs = arg:
    if builtins.isAttrs arg && !(arg ? type && arg.type == "derivation") then arg else { image = arg; };

  shellQuote = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # The image's own NAME:TAG when its derivation says (nix2container's
  # imageName/imageTag attributes), else null.
  defaultDest = image:
    if image ? imageName && image ? imageTag then "${image.imageName}:${image.imageTag}" else null;
in
{
  # Same arguments as nixpkgs dockerTools.pullImage, plus format
  # (docker-archive, oci-layout or oci-archive) and caCertFile (a PEM
  # bundle, e.g. "${cacert}/etc/ssl/certs/ca-bundle.crt"; without it, the
  # builder uses $NIX_SSL_CERT_FILE when the daemon passes it), and
  # connectTimeout / idleTimeout (Go durations, "90s") and minRate (bytes a
  # second, an integer; README "Limits"). `nixlayer
  # pin NAME:TAG` prints the arguments to give.
  pullImage =
    { imageName, imageDigest, sha256 ? null, hash ? null
    , os ? "linux", arch ? null, variant ? null
    , finalImageName ? imageName, finalImageTag ? "latest"
    , tlsVerify ? true, format ? "docker-archive", caCertFile ? null
    , connectTimeout ? null, idleTimeout ? null, minRate ? null
    , name ? fixName "docker-image-${finalImageName}-${finalImageTag}${suffixes.${format} or ""}"
    }:
    assert builtins.isString imageDigest;
    if sha256 == null && hash == null
    then throw "nixlayer.pullImage ${imageName}: give sha256 (or hash); `nixlayer pin ${imageName}` prints it"
    else if !(suffixes ? ${format})
    then throw "nixlayer.pullImage ${imageName}: unknown format \"${format}\": use docker-archive, oci-layout or oci-archive"
    else derivation {
      inherit name system;
      builder = nixlayerBin;
      args = [ "pull" ];
      __structuredAttrs = true;
      nixlayer = {
        inherit imageName imageDigest os arch variant finalImageName finalImageTag tlsVerify format caCertFile system;
        ${if connectTimeout != null then "connectTimeout" else null} = connectTimeout;
        ${if idleTimeout != null then "idleTimeout" else null} = idleTimeout;
        ${if minRate != null then "minRate" else null} = minRate;
      };
      outputHashMode = if format == "oci-layout" then "recursive" else "flat";
      outputHashAlgo = "sha256";
      outputHash = if hash != null then hash else sha256;
      inherit impureEnvVars;
      preferLocalBuild = true;
    } // {
      # dockerTools' passthrus: the name and tag the image is loaded as.
      imageName = finalImageName;
      imageTag = finalImageTag;
      inherit imageDigest;
    };

  # An app that pushes an image (docker-archive, OCI layout or archive, or
  # a streamLayeredImage script) to a registry:
  #   $(nix-build -A push)/bin/copy-to-registry [DEST] [nixlayer push flags]
  # DEST defaults to `destination`, else to the image's imageName:imageTag.
  copyToRegistry = arg:
    let
      a = { destination = null; tlsVerify = true; name = "copy-to-registry"; } // imageArgs arg;
      dest = if a.destination != null then a.destination else defaultDest a.image;
    in writeApp a.name ''
      #!/bin/sh
      # Pushes ${a.image} with nixlayer.
      set -e
      if [ $# -ge 1 ] && [ "''${1#-}" = "$1" ]; then dest=$1; shift
      ${if dest != null then "else dest=${shellQuote dest}" else ''else echo "usage: $0 DEST [nixlayer push flags]" >&2; exit 2''}
      fi
      exec ${nixlayerBin} push ${if a.tlsVerify then "" else "--insecure "}"$@" ${a.image} "$dest"
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

# nixlayer's pullImage: a fixed-output derivation whose builder is
# `nixlayer pull` (cmd_pull.go, package pull/). Imported by default.nix:
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
in
{
  # Same arguments as nixpkgs dockerTools.pullImage, plus format
  # (docker-archive, oci-layout or oci-archive) and caCertFile (a PEM
  # bundle, e.g. "${cacert}/etc/ssl/certs/ca-bundle.crt"; without it, the
  # builder uses $NIX_SSL_CERT_FILE when the daemon passes it), and
  # connectTimeout / idleTimeout (Go durations, "90s") and minRate (bytes a
  # second, an integer; README "Limits"). `nixlayer pin NAME:TAG` prints the
  # arguments to give.
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
}

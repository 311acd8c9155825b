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

  # pullImage from a lock file (`nixlayer pin REF --lock FILE`): the
  # manifest and each blob are a fixed-output derivation of their own,
  # named and hashed by their digest (Nix checks each), so a new version
  # of a base image refetches only the blobs that changed; a last
  # derivation (no network) assembles them into the archive pullImage
  # writes for the same image, format, finalImageName and finalImageTag
  # (the same bytes). finalImageName and finalImageTag default to the
  # lock's.
  pullImageFromLock =
    { lockFile
    , finalImageName ? null, finalImageTag ? null
    , tlsVerify ? true, format ? "docker-archive", caCertFile ? null
    , connectTimeout ? null, idleTimeout ? null, minRate ? null
    , name ? null
    }:
    let
      where = "nixlayer.pullImageFromLock: lock file ${toString lockFile}";
      # A file that is not JSON fails in fromJSON, whose error Nix cannot
      # catch; --show-trace shows this context, which names the file.
      lock = builtins.addErrorContext "while reading ${where}" (builtins.fromJSON (builtins.readFile lockFile));
      field = set: path: f:
        if builtins.isAttrs set && set ? ${f} then set.${f}
        else throw "${where}: ${path}${f} is missing (write it again with nixlayer pin --lock)";
      isDigest = d: builtins.isString d && builtins.match "sha256:[0-9a-f]{64}" d != null;
      blob = path: b:
        let
          digest = field b path "digest";
          size = field b path "size";
          mediaType = field b path "mediaType";
        in
        if !(isDigest digest) then throw "${where}: ${path}digest ${builtins.toJSON digest} is not sha256:<64 hex digits>"
        else if !(builtins.isInt size) || size <= 0 then throw "${where}: ${path}size ${builtins.toJSON size} is not a size in bytes"
        else if !(builtins.isString mediaType) then throw "${where}: ${path}mediaType is not a string"
        else { inherit digest size mediaType; };
      version = field lock "" "version";
      imageName = field lock "" "imageName";
      imageDigest = field lock "" "imageDigest";
      layers = field lock "" "layers";
      manifest = blob "manifest." (field lock "" "manifest");
      blobs = [ (blob "config." (field lock "" "config")) ]
        ++ builtins.genList (i: blob "layers[${toString i}]." (builtins.elemAt layers i)) (builtins.length layers);
      final = {
        name = if finalImageName != null then finalImageName else field lock "" "finalImageName";
        tag = if finalImageTag != null then finalImageTag else field lock "" "finalImageTag";
      };
      common = {
        inherit imageName imageDigest tlsVerify caCertFile system;
        ${if connectTimeout != null then "connectTimeout" else null} = connectTimeout;
        ${if idleTimeout != null then "idleTimeout" else null} = idleTimeout;
        ${if minRate != null then "minRate" else null} = minRate;
      };
      hexOf = d: builtins.substring 7 64 d;
      # One fixed-output derivation a blob: its name and hash depend on the
      # digest alone, so the same layer of another image is the same path.
      fetch = isManifest: b: derivation {
        name = "${if isManifest then "manifest" else "blob"}-${hexOf b.digest}";
        inherit system;
        builder = nixlayerBin;
        args = [ "pull-locked" ];
        __structuredAttrs = true;
        nixlayer = common // { blob = b; manifest = isManifest; };
        outputHashMode = "flat";
        outputHashAlgo = "sha256";
        outputHash = hexOf b.digest;
        inherit impureEnvVars;
        preferLocalBuild = true;
      };
      files = builtins.listToAttrs (map (b: { name = b.digest; value = "${fetch false b}"; }) blobs)
        // { ${manifest.digest} = "${fetch true manifest}"; };
    in
    if version != 1 then throw "${where}: version is ${builtins.toJSON version}; this nixlayer reads version 1"
    else if !(builtins.isString imageName) || imageName == "" then throw "${where}: imageName is not a name"
    else if !(isDigest imageDigest) then throw "${where}: imageDigest ${builtins.toJSON imageDigest} is not sha256:<64 hex digits>"
    else if !(builtins.isList layers) then throw "${where}: layers is not a list"
    else if builtins.length layers > 1000 then throw "${where}: layers lists ${toString (builtins.length layers)} layers, over the limit of 1000"
    else if !(suffixes ? ${format}) then throw "${where}: unknown format \"${format}\": use docker-archive, oci-layout or oci-archive"
    else derivation {
      name = if name != null then name else fixName "docker-image-${final.name}-${final.tag}${suffixes.${format}}";
      inherit system;
      builder = nixlayerBin;
      args = [ "pull-locked" ];
      __structuredAttrs = true;
      nixlayer = {
        lockFile = baseNameOf (toString lockFile);
        manifest = manifest.digest;
        blobs = files;
        finalImageName = final.name;
        finalImageTag = final.tag;
        inherit format;
      };
      preferLocalBuild = true;
    } // {
      imageName = final.name;
      imageTag = final.tag;
      inherit imageDigest;
    };
}

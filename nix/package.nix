# Builds the static nixlayer binary from source with nixpkgs' buildGoModule.
{ lib, buildGoModule }:
buildGoModule {
  pname = "nixlayer";
  version = "0.1.0";
  # Only what the Go build reads: a change to Nix files, docs or tests
  # does not rebuild the binary.
  src = lib.cleanSourceWith {
    src = ../.;
    # Directories are kept by their top-level name (nixdb/ and nixattrs/
    # are Go packages; nix/ is not).
    filter = path: type:
      let
        rel = lib.removePrefix (toString ../. + "/") (toString path);
        top = builtins.head (lib.splitString "/" rel);
      in type == "directory" && !(builtins.elem top [ "tests" "examples" "nix" "build" "bench" ])
         || lib.hasSuffix ".go" rel || lib.hasSuffix ".sql" rel
         || rel == "go.mod" || rel == "go.sum";
  };
  # nix/vendor-hash.sh prints it; update it whenever go.mod changes.
  vendorHash = "sha256-bsYSLOpljD2eLyM34XQUPeZYppy2EmqZ4OPyxtAAMVc=";
  subPackages = [ "." ];
  env.CGO_ENABLED = 0;
  ldflags = [ "-s" "-w" "-X main.version=0.1.0" ];
  # The tests need Nix, skopeo, umoci and a registry: run them with `make test`.
  doCheck = false;
  meta = {
    description = "Build container images from Nix store closures with one static binary";
    mainProgram = "nixlayer";
    license = lib.licenses.asl20;
    platforms = lib.platforms.linux;
  };
}

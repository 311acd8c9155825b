# A multi-platform image from a flake: packages.<system>.image for each
# system, joined into one OCI index by buildImageIndex.
#
#   nix build .#image-index         # the index (an OCI layout)
#   nix run .#push -- registry.example.com/hello:1.0
#
# Two ways to get the per-platform images:
#  - native: packages.aarch64-linux.image is built by an aarch64 builder
#    (a remote builder, or this machine with qemu-user and binfmt and
#    `extra-platforms = aarch64-linux` in nix.conf);
#  - cross (images.cross below): built on the host from pkgsCross closures,
#    with `architecture` saying which platform the image is for.
{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
  inputs.nixlayer.url = "github:nixlayer/nixlayer";

  outputs = { self, nixpkgs, nixlayer }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
      nlFor = system: nixlayer.lib.${system};
      # The same image for every system: its config records the system's
      # platform (amd64, arm64/v8) because it is built for that system.
      imageFor = system: pkgs: (nlFor system).buildLayeredImage {
        name = "hello";
        tag = "1.0";
        contents = [ pkgs.hello ];
        config.Cmd = [ "/bin/hello" ];
      };
    in
    {
      packages = forAll (system: pkgs:
        let nl = nlFor system; in
        { image = imageFor system pkgs; }
        // nixpkgs.lib.optionalAttrs (system == "x86_64-linux") {
          # Native: one image per system, each built for its system.
          image-index = nl.buildImageIndex {
            name = "hello";
            tag = "1.0";
            images = map (s: self.packages.${s}.image) systems;
          };
          # Cross: every image built here, the arm64 one from a cross
          # closure; architecture takes an OCI name or a Nix system.
          image-index-cross = nl.buildImageIndex {
            name = "hello";
            tag = "1.0";
            format = "oci-archive";
            images = [
              (imageFor system pkgs)
              (nl.buildLayeredImage {
                name = "hello";
                tag = "1.0";
                architecture = "arm64";
                contents = [ pkgs.pkgsCross.aarch64-multiplatform.hello ];
                config.Cmd = [ "/bin/hello" ];
              })
            ];
          };
          push = nl.copyToRegistry self.packages.${system}.image-index;
        });
    };
}

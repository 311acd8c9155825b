{
  description = "nixlayer: container images from Nix store closures, built by one static Go binary";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (system: pkgs:
        let
          nixlayer = pkgs.callPackage ./nix/package.nix { };
          nl = import ./nix { inherit nixlayer pkgs system; };
        in
        {
          inherit nixlayer;
          default = nixlayer;
          # nix build .#hello-image && docker load < result
          hello-image = nl.buildImage {
            name = "hello";
            tag = "latest";
            contents = [ pkgs.hello ];
            config.Cmd = [ "/bin/hello" ];
          };
        });

      # The Nix functions, per system: nixlayer.lib.${system}.buildImage { ... }
      lib = forAll (system: pkgs: import ./nix {
        inherit pkgs system;
        nixlayer = self.packages.${system}.nixlayer;
      });
    };
}

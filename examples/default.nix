# Example images, built offline from packages made with Debian's static
# busybox (tests/nix/pkgs.nix), so they need no nixpkgs:
#   nix-build examples --arg nixlayer ./build/nixlayer -A hello-image
{ nixlayer ? null, pkgs ? null, system ? builtins.currentSystem }:
let
  nl = import ../nix { inherit nixlayer pkgs system; };
  p = import ../tests/nix/pkgs.nix { inherit system; };
in
{
  # One layer holding the closure, hello and the busybox applets at the root.
  hello-image = nl.buildImage {
    name = "hello";
    tag = "latest";
    contents = [ p.hello p.bbBin ];
    config = {
      Cmd = [ "/bin/hello" ];
      Env = [ "PATH=/bin" ];
      Labels."org.opencontainers.image.description" = "hello, built by nixlayer";
    };
  };
}

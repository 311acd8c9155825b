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

  # A layered image whose root a script shapes as root would, without
  # root, a VM or fakeroot (README, "Root scripts"): a data directory owned
  # by the app's user, a device node, a user added to /etc/passwd.
  app-image = nl.buildLayeredImage {
    name = "app";
    tag = "latest";
    contents = [ p.hello p.bbBin ];
    shell = "${p.bbBin}/bin/sh";
    enableFakechroot = true;
    fakeRootCommands = ''
      set -e
      mkdir -p /etc /data /dev
      echo "root:x:0:0::/root:/bin/sh" > /etc/passwd
      echo "app:x:1000:1000::/data:/bin/sh" >> /etc/passwd
      printf "root:x:0:\napp:x:1000:\n" > /etc/group
      chown app:app /data
      mknod -m 600 /dev/console c 5 1
    '';
    config = { Cmd = [ "/bin/hello" ]; User = "app"; WorkingDir = "/data"; Env = [ "PATH=/bin" ]; };
  };
}

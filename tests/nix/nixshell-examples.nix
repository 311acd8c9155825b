# nixpkgs' nix-shell image examples (pkgs/build-support/docker/examples.nix,
# checked by nixos/tests/docker-tools-nix-shell.nix), written again with
# nixlayer's functions and the stdenv stand-ins of ./stdenv.nix. The
# arguments are dockerTools' own; the one addition is `shell`, which
# nixlayer takes from `pkgs` (bashInteractive) when it has one (it has none
# here). The checks are in tests/nixshell_test.go.
{ nl, testPkgs }:
let
  pkgs = testPkgs.nixShell;
  inherit (nl) streamNixShellImage buildNixShellImage;
  shell = "${pkgs.bash}/bin/bash";
  interactive = ''
    case "$-" in
    *i*) echo This shell is interactive ;;
    *) echo This shell is not interactive ;;
    esac
  '';
  # The check of the home directory's examples: $HOME is the build user's
  # home in /etc/passwd.
  homeIsUsers = ''
    if [[ "$HOME" != "$(eval "echo ~$(whoami)")" ]]; then
      echo "\$HOME ($HOME) is not the same as ~\$(whoami) ($(eval "echo ~$(whoami)"))"
      exit 1
    fi
  '';
in
{
  nix-shell-basic = streamNixShellImage {
    drv = pkgs.hello;
    name = "nix-shell-basic";
    tag = "latest";
    inherit shell;
  };

  nix-shell-hook = streamNixShellImage {
    drv = pkgs.mkShell {
      shellHook = ''
        echo "This is the shell hook!"
        exit
      '';
    };
    name = "nix-shell-hook";
    tag = "latest";
    inherit shell;
  };

  nix-shell-inputs = streamNixShellImage {
    drv = pkgs.mkShell {
      nativeBuildInputs = [ pkgs.hello ];
    };
    name = "nix-shell-inputs";
    tag = "latest";
    command = ''
      hello
    '';
    inherit shell;
  };

  nix-shell-pass-as-file = streamNixShellImage {
    drv = pkgs.mkShell {
      str = "this is a string";
      passAsFile = [ "str" ];
    };
    name = "nix-shell-pass-as-file";
    tag = "latest";
    command = ''
      cat "$strPath"
    '';
    inherit shell;
  };

  nix-shell-run = streamNixShellImage {
    drv = pkgs.mkShell { };
    name = "nix-shell-run";
    tag = "latest";
    run = interactive;
    inherit shell;
  };

  nix-shell-command = streamNixShellImage {
    drv = pkgs.mkShell { };
    name = "nix-shell-command";
    tag = "latest";
    command = interactive;
    inherit shell;
  };

  nix-shell-writable-home = streamNixShellImage {
    drv = pkgs.mkShell { };
    name = "nix-shell-writable-home";
    tag = "latest";
    run = homeIsUsers + ''
      if ! touch $HOME/test-file; then
        echo "home directory is not writable"
        exit 1
      fi
      echo "home directory is writable"
    '';
    inherit shell;
  };

  # nixpkgs' test writes `if -e $HOME`, which runs a command named -e and
  # so passes whatever the home; the test is written as meant here.
  nix-shell-nonexistent-home = streamNixShellImage {
    drv = pkgs.mkShell { };
    name = "nix-shell-nonexistent-home";
    tag = "latest";
    homeDirectory = "/homeless-shelter";
    run = homeIsUsers + ''
      if [ -e "$HOME" ]; then
        echo "home directory exists"
        exit 1
      fi
      echo "home directory doesn't exist"
    '';
    inherit shell;
  };

  nix-shell-build-derivation = streamNixShellImage {
    drv = pkgs.hello;
    name = "nix-shell-build-derivation";
    tag = "latest";
    run = ''
      buildDerivation
      $out/bin/hello
    '';
    inherit shell;
  };

  # Not in nixpkgs' examples: nixlayer imported with `pkgs`, whose
  # bashInteractive, coreutils and cacert are the defaults; uid 0 runs as
  # root, with homeDirectory as root's home.
  nix-shell-with-pkgs =
    let
      nlWithPkgs = import ../../nix {
        nixlayer = nl.nixlayer;
        pkgs = { bashInteractive = pkgs.bash; inherit (testPkgs) coreutils cacert; };
      };
    in
    nlWithPkgs.buildNixShellImage {
      drv = pkgs.mkShell { packages = [ pkgs.hello ]; };
      uid = 0;
      gid = 0;
      homeDirectory = "/root";
      compressor = "none";
      run = ''
        echo "uid=$(id -u) home=$HOME ~root=$(eval echo ~root)"
        cat "$SSL_CERT_FILE"
        /usr/bin/env hello
        echo "sh=$(readlink /bin/sh)"
      '';
    };

  # Not in nixpkgs' examples: a derivation of `derivation` itself (no
  # stdenv), with two outputs and attributes of every kind, whose builder
  # writes what it got into $out/env; built in the container by
  # buildDerivation, it must write what it writes when Nix builds it.
  nix-shell-plain-derivation = streamNixShellImage {
    drv = testPkgs.run "plain" ''
      mkdir -p $out $doc
      printf '%s\n' "flag=[$flag] off=[$off] none=[$none] n=[$n] nums=[$nums] mixed=[$mixed]" \
        "outputs=[$outputs] doc=[$doc] file=[$file] dep=[$dep] name=[$name]" > $out/env
    '' {
      outputs = [ "out" "doc" ];
      flag = true;
      off = false;
      none = null;
      n = 42;
      nums = [ 1 2 [ 3 ] ];
      mixed = [ null "a" true [ ] "b" ];
      file = ./stdenv.nix;
      dep = testPkgs.hello;
    };
    name = "nix-shell-plain-derivation";
    tag = "latest";
    run = ''
      # No stdenv: PATH has bash and buildDerivation only.
      buildDerivation && printf '%s\n' "$(< "$out/env")"
    '';
    inherit shell;
  };

  # Not in nixpkgs' examples: buildNixShellImage, the stream's archive as
  # hello-2.12-env.tar.gz.
  nix-shell-build-image = buildNixShellImage {
    drv = pkgs.hello;
    name = "nix-shell-build-image";
    tag = "latest";
    run = ''
      buildDerivation
      $out/bin/hello
    '';
    inherit shell;
  };
}

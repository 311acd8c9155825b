# Stand-ins for nixpkgs' stdenv, mkDerivation, mkShell and hello, made
# without nixpkgs, for the nix-shell image tests. They follow nixpkgs'
# conventions where nix-shell sees them: a derivation's builder is bash
# running `source $stdenv/setup; genericBuild`; $stdenv/setup sets PATH from
# the stdenv's initial path and the inputs' bin directories and defines
# runHook, runPhase, genericBuild and the default phases (unpack, build,
# install), which an attribute of the phase's name replaces; mkShell's
# derivation has one phase that writes a notice to $out. Its bash is
# Debian's static bash (bash-static), so that the images run a real bash
# (--rcfile, shopt, type -t) without a dynamic loader.
{ system, bbBin, run }:
let
  bashDir = builtins.path {
    path = /usr/bin;
    name = "bash-static";
    filter = p: t: baseNameOf p == "bash-static";
  };
  bash = run "bash-5.2-static" ''
    mkdir -p $out/bin
    cp ${bashDir}/bash-static $out/bin/bash
    chmod 555 $out/bin/bash
    ln -s bash $out/bin/sh
  '' { };

  setup = ''
    # stdenv stand-in (nixlayer tests): what nixpkgs' setup.sh does for
    # nix-shell and genericBuild, in small.
    initialPath=${bbBin}
    PATH=
    for p in ''${nativeBuildInputs-} ''${buildInputs-}; do
      [ -d "$p/bin" ] && PATH=''${PATH:+$PATH:}$p/bin
    done
    for p in $initialPath; do PATH=''${PATH:+$PATH:}$p/bin; done
    export PATH

    # runHook NAME: the function NAME, or else the shell text of the
    # variable NAME, as nixpkgs' _callImplicitHook.
    runHook() {
      local hook=$1; shift
      if [ "$(type -t "$hook")" = function ]; then
        "$hook" "$@"
      elif [ -n "''${!hook-}" ]; then
        eval "''${!hook}"
      fi
      return 0
    }

    unpackPhase() {
      runHook preUnpack
      if [ -n "''${src-}" ]; then
        mkdir source
        if [ -d "$src" ]; then cp -r "$src"/. source/; else cp "$src" "source/$(stripHash "$src")"; fi
        chmod -R u+w source
        cd source
      fi
      runHook postUnpack
    }
    buildPhase() { runHook preBuild; runHook postBuild; }
    installPhase() { runHook preInstall; mkdir -p "$out"; runHook postInstall; }

    # A store path's name without its hash.
    stripHash() { local b=''${1##*/}; echo "''${b#*-}"; }

    # A phase: the variable of its name when set (mkDerivation's
    # buildPhase = "…"), else its function.
    runPhase() {
      local curPhase=$1
      echo "running $curPhase"
      eval "''${!curPhase:-$curPhase}"
    }

    genericBuild() {
      if [ -n "''${buildCommand-}" ]; then eval "$buildCommand"; return; fi
      local curPhase
      for curPhase in ''${phases:-unpackPhase buildPhase installPhase}; do
        runPhase "$curPhase"
      done
    }
  '';

  stdenv = run "stdenv-standin" ''
    mkdir -p $out
    printf '%s' "$setup" > $out/setup
  '' { inherit setup; } // { inherit mkDerivation; };

  defaultBuilder = builtins.toFile "default-builder.sh" ''
    source $stdenv/setup
    genericBuild
  '';

  # mkDerivation: a derivation built by bash running genericBuild, every
  # other attribute passed as it is (lists of inputs included).
  mkDerivation = { name ? "${a.pname}-${a.version}", ... }@a:
    derivation ({
      inherit system;
      builder = "${bash}/bin/bash";
      args = [ "-e" defaultBuilder ];
      stdenv = stdenv;
    } // removeAttrs a [ "pname" "version" ] // { inherit name; });

  # mkShell: its packages are nativeBuildInputs; building it writes a notice
  # (nixpkgs' says the path is not meant to be built).
  mkShell = { name ? "nix-shell", packages ? [ ], nativeBuildInputs ? [ ], ... }@a:
    mkDerivation (removeAttrs a [ "packages" ] // {
      inherit name;
      nativeBuildInputs = packages ++ nativeBuildInputs;
      phases = [ "buildPhase" ];
      buildPhase = ''echo "this is a nix-shell environment, not meant to be built" >> "$out"'';
    });

  # hello: builds a script printing the greeting of its source.
  hello = mkDerivation {
    pname = "hello";
    version = "2.12";
    src = builtins.toFile "greeting.txt" "Hello, world!\n";
    buildPhase = ''
      printf '#!%s\necho "%s"\n' "$(command -v sh)" "$(cat greeting.txt)" > hello
      chmod 555 hello
    '';
    installPhase = ''
      mkdir -p $out/bin
      cp hello $out/bin/hello
    '';
  };
in
{
  inherit bash stdenv mkShell hello;
  inherit (stdenv) mkDerivation;
}

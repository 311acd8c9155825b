# dockerTools' streamNixShellImage and buildNixShellImage: an image whose
# command is nix-shell's environment of a derivation: its attributes as
# environment variables (passAsFile as files), stdenv's setup sourced,
# shellHook run, `buildDerivation` on PATH to run its builder, as
# nix-shell's rc file does (Nix 2.8, src/nix-build/nix-build.cc).
#
#   nl.streamNixShellImage { drv = pkgs.hello; }                 # $(nix-build) | docker load
#   nl.buildNixShellImage { drv = myShell; run = "make test"; }  # hello-env.tar.gz
#
# Built on nixlayer's streamLayeredImage, with no root script: the build
# user (/etc/passwd), the writable build directory and the world-writable
# store are declared (`users`, `directories`, `perms`). Imported by
# default.nix.
{ pkgs, writeFiles, writeImageStream, streamLayeredImage, argChecks }:
let
  inherit (builtins) attrNames concatStringsSep filter isAttrs isFunction isInt isList
    isPath isString listToAttrs mapAttrs removeAttrs typeOf;

  storeDir = builtins.storeDir;
  # Nix's build directory in its sandbox: NIX_BUILD_TOP, TMPDIR and the
  # working directory of a build, writable by the build user.
  buildDir = "/build";

  # bash -c script: bash --rcfile RC ("$1") on a terminal, else bash RC.
  interactiveIfTerminal = ''
    if [ -t 0 ] && [ -t 2 ]; then exec "$0" --rcfile "$1"; else exec "$0" "$1"; fi'';

  # A shell word that stands for s ('…', with ' written as '\'').
  quote = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # An attribute's value as Nix's `derivation` puts it in the builder's
  # environment: a path copied into the store, a list's elements each
  # followed by a space but the last and empty lists, true "1", false and
  # null "", a derivation its output path. A set without outPath is an
  # error, as in `derivation`.
  envString = v:
    if isPath v then "${v}"
    else if isList v then
      let n = builtins.length v; in
      concatStringsSep "" (builtins.genList (i:
        let e = builtins.elemAt v i;
        in envString e + (if i == n - 1 || (isList e && e == [ ]) then "" else " ")) n)
    else toString v;

  # What drv is, for the error when it is no derivation.
  describe = v:
    if isAttrs v then
      let names = attrNames v; shown = concatStringsSep ", " (builtins.genList (builtins.elemAt names) (if builtins.length names > 8 then 8 else builtins.length names));
      in "an attribute set without drvAttrs (attributes: ${if names == [ ] then "none" else shown}${if builtins.length names > 8 then ", …" else ""})"
    else if isPath v then "the path ${toString v}"
    else if isString v then "the string \"${builtins.substring 0 80 v}\""
    else "a value of type ${typeOf v}";

  # A value in an error message.
  show = v: if isInt v || isString v then builtins.toJSON v else "a ${typeOf v}";

  # The arguments of both functions, checked once; true or an evaluation
  # error naming the argument.
  checkArgs = fn: args@{ drv, uid, gid, homeDirectory, command, run, ... }:
    let attrs = drv.drvAttrs; in
    assert argChecks.check takes fn args;
    assert isAttrs drv && drv ? drvAttrs && isAttrs drv.drvAttrs
      || throw "nixlayer.${fn}: drv must be a derivation (as derivation and mkDerivation make, with drvAttrs), not ${describe drv}";
    assert !(attrs.__structuredAttrs or false)
      || throw "nixlayer.${fn}: drv ${drv.name or "?"} uses __structuredAttrs, which nix-shell images do not support (as dockerTools): its attributes would need .attrs.sh and .attrs.json";
    assert command == null || run == null
      || throw "nixlayer.${fn}: give command (run in an interactive shell, nix-shell --command) or run (non-interactive, nix-shell --run), not both";
    assert (isInt uid && uid >= 0) || throw "nixlayer.${fn}: uid must be a non-negative integer, not ${show uid}";
    assert (isInt gid && gid >= 0) || throw "nixlayer.${fn}: gid must be a non-negative integer, not ${show gid}";
    assert (isString homeDirectory && builtins.substring 0 1 homeDirectory == "/")
      || throw "nixlayer.${fn}: homeDirectory must be an absolute path, not ${show homeDirectory}";
    assert builtins.all (a: args.${a} == null || isString args.${a}) [ "command" "run" ]
      || throw "nixlayer.${fn}: command and run are shell text (strings)";
    true;

  # The environment Nix gives drv's builder (local-derivation-goal.cc):
  # every attribute but args (and __ignoreNulls, __contentAddressed,
  # __impure, which Nix reads itself), passAsFile's as NAMEPath naming a
  # file of their value, and each output's path.
  derivationEnv = drv:
    let
      attrs = drv.drvAttrs;
      ignoreNulls = attrs.__ignoreNulls or false;
      kept = removeAttrs attrs ([ "args" "__ignoreNulls" "__contentAddressed" "__impure" ]
        ++ (if ignoreNulls then filter (n: attrs.${n} == null) (attrNames attrs) else [ ]));
      # Nix splits passAsFile's string at white space.
      asFile = filter (n: isString n && n != "" && kept ? ${n}) (builtins.split "[ \t\n]+" (envString (attrs.passAsFile or [ ])));
      files = writeFiles "nix-shell-pass-as-file" {
        files = listToAttrs (builtins.genList (i: { name = "attr-${toString i}"; value = envString kept.${builtins.elemAt asFile i}; }) (builtins.length asFile));
      };
      fileOf = listToAttrs (builtins.genList (i: { name = builtins.elemAt asFile i; value = "${files}/attr-${toString i}"; }) (builtins.length asFile));
      outputs = drv.outputs or attrs.outputs or [ "out" ];
    in
    listToAttrs (map (n: if fileOf ? ${n} then { name = "${n}Path"; value = fileOf.${n}; } else { name = n; value = envString kept.${n}; }) (attrNames kept))
    # The outputs are made in the container, not put in the image.
    // listToAttrs (map (o: { name = o; value = builtins.unsafeDiscardStringContext drv.${o}.outPath; }) outputs);

  # The image of drv's nix-shell environment, with the defaults resolved.
  shellImage = fn: args@{ drv, name, tag, uid, gid, homeDirectory, shell, command, run, coreutils, cacert, ... }:
    let
      attrs = drv.drvAttrs;
      sh = if shell != null then shell
        else if pkgs != null then "${pkgs.bashInteractive}/bin/bash"
        else throw "nixlayer.${fn}: give `shell` (a bash: \"\${bashInteractive}/bin/bash\"), or `pkgs` to the nixlayer import (its bashInteractive is the default)";
      env' = if coreutils != null then coreutils else if pkgs != null then pkgs.coreutils else null;
      cacert' = if cacert != null then cacert else if pkgs != null then pkgs.cacert else null;

      # `buildDerivation` runs drv's builder with its arguments, as Nix would.
      builder = writeFiles "buildDerivation" {
        executables."bin/buildDerivation" = ''
          #!${sh}
          exec ${quote (envString attrs.builder)} ${concatStringsSep " " (map (a: quote (envString a)) (attrs.args or [ ]))}
        '';
      };
      staticPath = "${dirOf sh}:${builder}/bin";
      script = if command != null then command else run;

      # nix-shell's rc file: a pure PATH from stdenv's setup, then the
      # shell's directory and buildDerivation, the prompt, shellHook, and
      # the command, after which the shell exits.
      rcfile = "${writeFiles "nix-shell-rc" { files.rc = ''
        unset PATH
        dontAddDisableDepTrack=1
        [ -e "$stdenv/setup" ] && source "$stdenv/setup"
        PATH=${quote staticPath}:"$PATH"
        SHELL=${quote sh}
        BASH=${quote sh}
        set +e
        [ -n "$PS1" ] && [ -z "$NIX_SHELL_PRESERVE_PROMPT" ] && PS1='\n\[\033[1;32m\][nix-shell:\w]\$\[\033[0m\] '
        if [ "$(type -t runHook)" = function ]; then
          runHook shellHook
        fi
        unset NIX_ENFORCE_PURITY
        shopt -u nullglob
        shopt -s execfail
      '' + (if script != null then script + "\nexit\n" else ""); }}/rc";

      env = {
        PATH = staticPath;
        HOME = homeDirectory;
        NIX_STORE = storeDir;
        NIX_BUILD_CORES = "1";
      } // (if cacert' != null then { SSL_CERT_FILE = "${cacert'}/etc/ssl/certs/ca-bundle.crt"; } else { })
      // derivationEnv drv // {
        NIX_BUILD_TOP = buildDir;
        TMPDIR = buildDir; TEMPDIR = buildDir; TMP = buildDir; TEMP = buildDir;
        PWD = buildDir;
        TERM = "xterm-256color";
        IN_NIX_SHELL = "pure";
      };

      # The build user: nixbld, or the account the image already has for
      # uid 0 (root) and 65534 (nobody), with homeDirectory as its home,
      # which the image holds only when it is the build directory.
      account = { "0" = "root"; "65534" = "nobody"; }.${toString uid} or "nixbld";
      # Linux refuses a variable of more than 128 KiB ("NAME=value" and its
      # NUL) to a program it starts: the container would not start.
      tooLong = filter (n: builtins.stringLength n + builtins.stringLength env.${n} + 2 > 131072) (attrNames env);
    in
    assert tooLong == [ ] || throw "nixlayer.${fn}: attribute ${builtins.head tooLong} of drv ${drv.name} is ${toString (builtins.stringLength env.${builtins.head tooLong})} bytes, more than Linux passes in one environment variable (128 KiB with its name): give it as a file, passAsFile = [ \"${builtins.head tooLong}\" ]";
    streamLayeredImage {
      name = if name != null then name else "${drv.name}-env";
      inherit tag;
      users = [ { name = account; inherit uid gid; home = homeDirectory; shell = "/noshell"; description = "Build user"; createHome = false; } ];
      directories = [ { path = storeDir; mode = "1777"; } buildDir ];
      perms = [ { path = buildDir; inherit uid gid; } ];
      symlinks = { "/bin/sh" = sh; } // (if env' != null then { "/usr/bin/env" = "${env'}/bin/env"; } else { });
      config = {
        User = "${toString uid}:${toString gid}";
        # As nix-shell: bash --rcfile (interactive) when standard input and
        # error are terminals (docker run -it) and `run` is not given, else
        # bash running the rc file as a script; nix-shell tells at its start,
        # so the image tells at the container's.
        Cmd = if run == null then [ sh "-c" interactiveIfTerminal sh rcfile ] else [ sh rcfile ];
        WorkingDir = buildDir;
        Env = map (n: "${n}=${env.${n}}") (attrNames env);
      };
    };

  # .override and buildArgs of a result, in terms of fn's own arguments.
  result = fn: args: drv: drv // {
    buildArgs = args;
    override = new: fns.${fn} (args // (if isFunction new then new args else new));
  };

  takes = mapAttrs (_: builtins.functionArgs) fns;

  fns = {
    # A stream script (as streamLayeredImage) of the nix-shell image of drv.
    streamNixShellImage =
      { drv                                  # the derivation whose nix-shell environment the image is
      , name ? null                          # default: drv.name + "-env"
      , tag ? null                           # absent: the output's hash
      , uid ? 1000, gid ? 1000               # the build user the container runs as
      , homeDirectory ? "/build"             # its $HOME (made only when it is /build)
      , shell ? null                         # a bash; default pkgs.bashInteractive's
      , command ? null                       # nix-shell --command: run in an interactive shell, then exit
      , run ? null                           # nix-shell --run: the same, non-interactive
      , coreutils ? null                     # /usr/bin/env; default pkgs.coreutils, none without pkgs
      , cacert ? null                        # SSL_CERT_FILE; default pkgs.cacert, none without pkgs
      , ...                                  # any other: an error (args.nix)
      }@args:
      let a = { inherit drv name tag uid gid homeDirectory shell command run coreutils cacert; }; in
      assert checkArgs "streamNixShellImage" (args // a);
      result "streamNixShellImage" args (shellImage "streamNixShellImage" a);

    # The same image as a file, NAME.tar.gz (the archive the stream writes,
    # compressed by `compressor`: "gz", "zstd" or "none"), as dockerTools.
    buildNixShellImage =
      { drv, name ? null, tag ? null, uid ? 1000, gid ? 1000, homeDirectory ? "/build"
      , shell ? null, command ? null, run ? null, coreutils ? null, cacert ? null
      , compressor ? "gz"                    # the whole archive's: "gz", "zstd" or "none"
      , ...
      }@args:
      let a = { inherit drv name tag uid gid homeDirectory shell command run coreutils cacert; }; in
      assert checkArgs "buildNixShellImage" (args // a);
      let stream = shellImage "buildNixShellImage" a;
      in result "buildNixShellImage" args (writeImageStream { name = "${drv.name}-env"; inherit stream compressor; } // {
        inherit (stream) imageName imageTag;
        inherit stream;
      });
  };
in
fns

# dockerTools' small helpers, without stdenv: each is a derivation written
# by nixlayer (write-files). Those that need a package take it from `pkgs`
# (given to the nixlayer import) or from an argument:
#
#   nl.binSh                                  # pkgs.bashInteractive's bash as /bin/sh
#   nl.binSh { shell = "${busybox}/bin/sh"; } # any shell
#
# Imported by default.nix: import ./helpers.nix { inherit pkgs writeFiles; }
{ pkgs, writeFiles }:
let
  # A helper that is a derivation made with its default arguments (from
  # pkgs) and can be called with others. Without pkgs, using it as a
  # derivation is an error that says what to give. A functor is no lambda,
  # so builtins.functionArgs cannot read its arguments: __functionArgs
  # holds them, as nixpkgs' lib.setFunctionArgs does (lib.functionArgs
  # reads it), optional when pkgs gives their defaults.
  helper = name: defaults: make:
    let
      d = if pkgs == null then { } else defaults;
      args = builtins.concatStringsSep " " (map (a: "${a} = …;") (builtins.attrNames (builtins.functionArgs make)));
      value = if pkgs != null then make defaults
        else { outPath = throw "nixlayer.${name}: give `pkgs` to the nixlayer import, or call it with its packages: nl.${name} { ${args} }"; };
    in value // {
      __functor = _: a: make (d // a);
      __functionArgs = builtins.mapAttrs (_: _: pkgs != null) (builtins.functionArgs make);
    };

  # root and nobody, as dockerTools.fakeNss (and nixlayer's `users`).
  passwd = ''
    root:x:0:0:root user:/var/empty:/bin/sh
    nobody:x:65534:65534:nobody:/var/empty:/bin/sh
  '';
  group = ''
    root:x:0:
    nobody:x:65534:
  '';

  # fakeNss with args ({ extraPasswdLines, extraGroupLines }), and its
  # .override (an attribute set or a function of the old arguments).
  fakeNssWith = args:
    let
      a = { extraPasswdLines = [ ]; extraGroupLines = [ ]; } // args;
      bad = builtins.attrNames (builtins.removeAttrs args [ "extraPasswdLines" "extraGroupLines" ]);
      lines = n: assert builtins.isList a.${n} && builtins.all builtins.isString a.${n}
        || throw "nixlayer.fakeNss: ${n} must be a list of strings (lines without their newline)";
        builtins.concatStringsSep "" (map (l: l + "\n") a.${n});
    in
    assert bad == [ ] || throw "nixlayer.fakeNss.override: unknown argument ${builtins.head bad}: it takes extraPasswdLines and extraGroupLines";
    writeFiles "fake-nss" {
      files = {
        "etc/passwd" = passwd + lines "extraPasswdLines";
        "etc/group" = group + lines "extraGroupLines";
        "etc/nsswitch.conf" = "hosts: files dns\n";
      };
      dirs = [ "var/empty" ];
    } // {
      override = new: fakeNssWith (a // (if builtins.isFunction new then new a else new));
    };
in
{
  # /etc/passwd, /etc/group and /etc/nsswitch.conf with root and nobody, and
  # the empty /var/empty their homes name. Needs no package.
  # fakeNss.override { extraPasswdLines = [ … ]; extraGroupLines = [ … ]; }
  # appends lines (each given without its newline) to /etc/passwd and
  # /etc/group, as nixpkgs' fakeNss.
  fakeNss = fakeNssWith { };

  # /bin/sh: a symlink to `shell` (default: pkgs.bashInteractive's bash).
  binSh = helper "binSh" { shell = "${pkgs.bashInteractive}/bin/bash"; }
    ({ shell }: writeFiles "bin-sh" { symlinks."bin/sh" = shell; });

  # /usr/bin/env: a symlink to `env` (default: pkgs.coreutils').
  usrBinEnv = helper "usrBinEnv" { env = "${pkgs.coreutils}/bin/env"; }
    ({ env }: writeFiles "usr-bin-env" { symlinks."usr/bin/env" = env; });

  # The CA bundle of `cacert` (default pkgs.cacert) where programs look for
  # it: /etc/ssl/certs/ca-bundle.crt, ca-certificates.crt and
  # /etc/pki/tls/certs/ca-bundle.crt.
  caCertificates = helper "caCertificates" { cacert = pkgs.cacert; }
    ({ cacert }:
      let bundle = "${cacert}/etc/ssl/certs/ca-bundle.crt";
      in writeFiles "ca-certificates" {
        symlinks = {
          "etc/ssl/certs/ca-bundle.crt" = bundle;
          "etc/ssl/certs/ca-certificates.crt" = bundle;
          "etc/pki/tls/certs/ca-bundle.crt" = bundle;
        };
      });

  # Shell that prepares shadow's tools (useradd, groupadd) in a root
  # filesystem, for runAsRoot and fakeRootCommands scripts as dockerTools'
  # shadowSetup (nixlayer runs them in user namespaces, package rootscript).
  # Declared `users` and `groups` need no script and stay the recommended
  # way. Needs pkgs (pkgs.shadow, pkgs.runtimeShell).
  shadowSetup =
    if pkgs == null then throw "nixlayer.shadowSetup: give `pkgs` to the nixlayer import (it needs pkgs.shadow); with nixlayer, declare `users` and `groups` instead"
    else ''
      export PATH=${pkgs.shadow}/bin:$PATH
      mkdir -p /etc/pam.d
      # A user database with root alone, unless the image has one.
      [ -f /etc/passwd ] || { echo "root:x:0:0::/root:${pkgs.runtimeShell}" > /etc/passwd; echo "root:!x:::::::" > /etc/shadow; }
      [ -f /etc/group ] || { echo "root:x:0:" > /etc/group; echo "root:x::" > /etc/gshadow; }
      # PAM rules that let root run the shadow tools.
      [ -f /etc/pam.d/other ] || printf '%s\n' \
        'account sufficient pam_unix.so' \
        'auth sufficient pam_rootok.so' \
        'password requisite pam_unix.so nullok yescrypt' \
        'session required pam_unix.so' > /etc/pam.d/other
      [ -f /etc/login.defs ] || touch /etc/login.defs
    '';
}

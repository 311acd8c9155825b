# nixpkgs' dockerTools examples (pkgs/build-support/docker/examples.nix, and
# the images the NixOS test nixos/tests/docker-tools.nix builds itself),
# written again with nixlayer's functions and the busybox stand-ins of
# ./pkgs.nix. One attribute per case, named as in nixpkgs; the checks are in
# tests/examples_test.go. Arguments are dockerTools' own, as a user switching
# would write them; the only addition is `shell` for extraCommands,
# runAsRoot and fakeRootCommands, which nixlayer takes from `pkgs` when it
# has one (it has none here).
{ nl, testPkgs }:
let
  pkgs = testPkgs;
  inherit (nl) buildImage buildLayeredImage streamLayeredImage buildImageWithNixDb
    buildLayeredImageWithNixDb exportImage;
  mergeImages = nl.mergeImages or (throw "nixlayer has no mergeImages");
  fakeNss = pkgs.fakeNss;
  shell = pkgs.runtimeShell;
in
rec {
  # nixpkgs: bash (1. basic example), newer form with copyToRoot = buildEnv
  bash = buildImage {
    name = "bash";
    tag = "latest";
    copyToRoot = pkgs.buildEnv {
      name = "image-root";
      paths = [ pkgs.bashInteractive ];
      pathsToLink = [ "/bin" ];
    };
  };

  # nixpkgs: redis (2. service example, layered on another image)
  redis = buildImage {
    name = "redis";
    tag = "latest";
    fromImage = bash;
    copyToRoot = pkgs.buildEnv {
      name = "image-root";
      paths = [ pkgs.redis ];
      pathsToLink = [ "/bin" ];
    };
    inherit shell;
    runAsRoot = ''
      mkdir -p /data
    '';
    config = {
      Cmd = [ "/bin/redis-server" ];
      WorkingDir = "/data";
      Volumes = { "/data" = { }; };
    };
  };

  # nixpkgs: nginx (3. another service example)
  nginx =
    let
      nginxPort = "80";
      nginxConf = pkgs.writeText "nginx.conf" ''
        user nobody nobody;
        daemon off;
        error_log /dev/stdout info;
        pid /dev/null;
        events {}
        http {
          access_log /dev/stdout;
          server {
            listen ${nginxPort};
            index index.html;
            location / {
              root ${nginxWebRoot};
            }
          }
        }
      '';
      nginxWebRoot = pkgs.writeTextDir "index.html" ''
        <html><body><h1>Hello from NGINX</h1></body></html>
      '';
    in
    buildLayeredImage {
      name = "nginx-container";
      tag = "latest";
      contents = [ fakeNss pkgs.nginx ];
      inherit shell;
      extraCommands = ''
        mkdir -p var/log/nginx
        mkdir -p var/cache/nginx
      '';
      config = {
        Cmd = [ "nginx" "-c" nginxConf ];
        ExposedPorts = { "${nginxPort}/tcp" = { }; };
      };
    };

  # nixpkgs: editors (5. multiple contents)
  editors = buildImage {
    name = "editors";
    copyToRoot = pkgs.buildEnv {
      name = "image-root";
      pathsToLink = [ "/bin" ];
      paths = [
        pkgs.coreutils
        pkgs.bash
        (pkgs.scriptBin "emacs-standin" "emacs" "echo emacs")
        (pkgs.scriptBin "vim-standin" "vim" "echo vim")
        (pkgs.scriptBin "nano-standin" "nano" "echo nano")
      ];
    };
  };

  # nixpkgs: nix (6. the container's Nix store)
  nix = buildImageWithNixDb {
    name = "nix";
    tag = "latest";
    copyToRoot = pkgs.buildEnv {
      name = "image-root";
      pathsToLink = [ "/bin" ];
      paths = [ pkgs.coreutils pkgs.nix pkgs.bash ];
    };
    config.Env = [ "NIX_PAGER=cat" "USER=nobody" ];
  };

  # nixpkgs: runAsRootExtraCommands (8. regression test for eval and quoting)
  runAsRootExtraCommands = buildImage {
    name = "runAsRootExtraCommands";
    tag = "latest";
    copyToRoot = [ pkgs.coreutils ];
    inherit shell;
    runAsRoot = ''echo "(runAsRoot)" > runAsRoot'';
    extraCommands = ''echo "(extraCommand)" > extraCommands'';
  };

  # nixpkgs: unstableDate (9. created = "now")
  unstableDate = buildImage {
    name = "unstable-date";
    tag = "latest";
    copyToRoot = [ pkgs.coreutils ];
    created = "now";
  };

  # nixpkgs: layered-image (10.)
  layered-image = buildLayeredImage {
    name = "layered-image";
    tag = "latest";
    inherit shell;
    extraCommands = ''echo "(extraCommand)" > extraCommands'';
    config.Cmd = [ "${pkgs.hello}/bin/hello" ];
    contents = [ pkgs.hello pkgs.bash pkgs.coreutils ];
  };

  # nixpkgs: layered-on-top (11. buildImage on a layered image)
  layered-on-top = buildImage {
    name = "layered-on-top";
    tag = "latest";
    fromImage = layered-image;
    inherit shell;
    extraCommands = ''
      mkdir ./example-output
      chmod 777 ./example-output
    '';
    config = {
      Env = [ "PATH=${pkgs.coreutils}/bin/" ];
      WorkingDir = "/example-output";
      Cmd = [ "${pkgs.bash}/bin/bash" "-c" "echo hello > foo; cat foo" ];
    };
  };

  # nixpkgs: layered-on-top-layered (12.)
  layered-on-top-layered = buildLayeredImage {
    name = "layered-on-top-layered";
    tag = "latest";
    fromImage = layered-image;
    inherit shell;
    extraCommands = ''
      mkdir ./example-output
      chmod 777 ./example-output
    '';
    config = {
      Env = [ "PATH=${pkgs.coreutils}/bin/" ];
      WorkingDir = "/example-output";
      Cmd = [ "${pkgs.bash}/bin/bash" "-c" "echo hello > foo; cat foo" ];
    };
  };

  # nixpkgs: runAsRootParentImage (13.)
  runAsRootParentImage = buildImage {
    name = "runAsRootParentImage";
    tag = "latest";
    inherit shell;
    runAsRoot = "touch /example-file";
    fromImage = bash;
  };

  # nixpkgs: layersOrder (14. three images on top of each other)
  layersOrder =
    let
      l1 = buildImage {
        name = "l1";
        tag = "latest";
        inherit shell;
        extraCommands = ''
          mkdir -p tmp
          echo layer1 > tmp/layer1
          echo layer1 > tmp/layer2
          echo layer1 > tmp/layer3
        '';
      };
      l2 = buildImage {
        name = "l2";
        fromImage = l1;
        tag = "latest";
        inherit shell;
        extraCommands = ''
          mkdir -p tmp
          echo layer2 > tmp/layer2
          echo layer2 > tmp/layer3
        '';
      };
    in
    buildImage {
      name = "l3";
      fromImage = l2;
      tag = "latest";
      copyToRoot = [ pkgs.coreutils ];
      inherit shell;
      extraCommands = ''
        mkdir -p tmp
        echo layer3 > tmp/layer3
      '';
    };

  # nixpkgs: environmentVariablesParent (15.)
  environmentVariablesParent = buildImage {
    name = "parent";
    tag = "latest";
    config.Env = [ "FROM_PARENT=true" "LAST_LAYER=parent" ];
  };

  # nixpkgs: environmentVariables (15.)
  environmentVariables = buildImage {
    name = "child";
    fromImage = environmentVariablesParent;
    tag = "latest";
    copyToRoot = [ pkgs.coreutils ];
    config.Env = [ "FROM_CHILD=true" "LAST_LAYER=child" ];
  };

  # nixpkgs: environmentVariablesLayered (15.)
  environmentVariablesLayered = buildLayeredImage {
    name = "child";
    fromImage = environmentVariablesParent;
    tag = "latest";
    contents = [ pkgs.coreutils ];
    config.Env = [ "FROM_CHILD=true" "LAST_LAYER=child" ];
  };

  # nixpkgs: another-layered-image (16. shares layers with layered-image)
  another-layered-image = buildLayeredImage {
    name = "another-layered-image";
    tag = "latest";
    config.Cmd = [ "${pkgs.hello}/bin/hello" ];
  };

  # nixpkgs: two-layered-image (17.)
  two-layered-image = buildLayeredImage {
    name = "two-layered-image";
    tag = "latest";
    config.Cmd = [ "${pkgs.hello}/bin/hello" ];
    contents = [ pkgs.bash pkgs.hello ];
    maxLayers = 2;
  };

  # nixpkgs: bulk-layer (18. more packages than layers)
  bulk-layer = buildLayeredImage {
    name = "bulk-layer";
    tag = "latest";
    contents = [ pkgs.coreutils pkgs.hello ];
    maxLayers = 2;
  };

  # nixpkgs: layered-bulk-layer (19. with a base image)
  layered-bulk-layer = buildLayeredImage {
    name = "layered-bulk-layer";
    tag = "latest";
    fromImage = two-layered-image;
    contents = [ pkgs.coreutils pkgs.hello ];
    maxLayers = 4;
  };

  # nixpkgs: no-store-paths (20. a layered image without a store). Our
  # static busybox stand-in is not self-referential, so the image has no
  # store at all (the older NixOS test's check).
  no-store-paths = buildLayeredImage {
    name = "no-store-paths";
    tag = "latest";
    inherit shell;
    extraCommands = ''
      cp -r ${pkgs.busyboxStatic}/* .
    '';
  };

  # nixpkgs: nixLayered
  nixLayered = buildLayeredImageWithNixDb {
    name = "nix-layered";
    tag = "latest";
    contents = [ pkgs.coreutils pkgs.nix pkgs.bash ];
    config.Env = [ "NIX_PAGER=cat" "USER=nobody" ];
  };

  # nixpkgs: filesInStore (21. files in the store, layered)
  filesInStore = buildLayeredImageWithNixDb {
    name = "file-in-store";
    tag = "latest";
    contents = [
      pkgs.coreutils
      pkgs.nix
      (pkgs.writeScriptBin "myscript" ''
        #!${pkgs.runtimeShell}
        cat ${pkgs.writeText "somefile" "some data"}
      '')
    ];
    config = {
      Cmd = [ "myscript" ];
      Env = [ "USER=root" ];
    };
  };

  # nixpkgs: unstableDateLayered (22.)
  unstableDateLayered = buildLayeredImage {
    name = "unstable-date-layered";
    tag = "latest";
    contents = [ pkgs.coreutils ];
    created = "now";
  };

  # nixpkgs: bashNoTag
  bashNoTag = buildImage {
    name = "bash-no-tag";
    copyToRoot = pkgs.bashInteractive;
  };

  # nixpkgs: bashNoTagLayered
  bashNoTagLayered = buildLayeredImage {
    name = "bash-no-tag-layered";
    contents = pkgs.bashInteractive;
  };

  # nixpkgs: bashNoTagStreamLayered
  bashNoTagStreamLayered = streamLayeredImage {
    name = "bash-no-tag-stream-layered";
    contents = pkgs.bashInteractive;
  };

  # nixpkgs: bashLayeredWithUser (a non-root user from /etc files)
  bashLayeredWithUser =
    let
      nonRootShadowSetup = { user, uid, gid ? uid }: [
        (pkgs.writeTextDir "etc/shadow" ''
          root:!x:::::::
          ${user}:!:::::::
        '')
        (pkgs.writeTextDir "etc/passwd" ''
          root:x:0:0::/root:${pkgs.runtimeShell}
          ${user}:x:${toString uid}:${toString gid}::/home/${user}:
        '')
        (pkgs.writeTextDir "etc/group" ''
          root:x:0:
          ${user}:x:${toString gid}:
        '')
        (pkgs.writeTextDir "etc/gshadow" ''
          root:x::
          ${user}:x::
        '')
      ];
    in
    buildLayeredImage {
      name = "bash-layered-with-user";
      tag = "latest";
      contents = [ pkgs.bash pkgs.coreutils ] ++ nonRootShadowSetup { uid = 999; user = "somebody"; };
    };

  # nixpkgs: layeredStoreSymlink (a store path that is itself a symlink)
  layeredStoreSymlink =
    let
      target = pkgs.writeTextDir "dir/target" "Content doesn't matter.";
      symlink = pkgs.runCommand "symlink" { } "ln -s ${target} $out";
    in
    buildLayeredImage {
      name = "layeredstoresymlink";
      tag = "latest";
      contents = [ pkgs.bash symlink ];
    } // { passthru = { inherit symlink; }; };

  # nixpkgs: prefixedImage (registry/ prefix in the name)
  prefixedImage = buildImage {
    name = "registry-1.docker.io/image";
    tag = "latest";
    config.Cmd = [ "${pkgs.hello}/bin/hello" ];
  };

  # nixpkgs: prefixedLayeredImage
  prefixedLayeredImage = buildLayeredImage {
    name = "registry-1.docker.io/layered-image";
    tag = "latest";
    config.Cmd = [ "${pkgs.hello}/bin/hello" ];
  };

  # nixpkgs: layeredImageWithFakeRootCommands (chown under fakeroot)
  layeredImageWithFakeRootCommands = buildLayeredImage {
    name = "layered-image-with-fake-root-commands";
    tag = "latest";
    contents = [ pkgs.busyboxStatic ];
    inherit shell;
    fakeRootCommands = ''
      mkdir -p ./home/alice
      chown 1000 ./home/alice
      ln -s ${pkgs.writeScriptBin "layeredImageWithFakeRootCommands-hello" ''
        #!${pkgs.runtimeShell}
        echo hello
      ''} ./hello
    '';
  };

  # nixpkgs: mergedBashAndRedis
  mergedBashAndRedis = mergeImages [ bash redis ];

  # nixpkgs: mergedBashNoTagAndRedis
  mergedBashNoTagAndRedis = mergeImages [ bashNoTag redis ];

  # nixpkgs: mergedBashFakeRoot
  mergedBashFakeRoot = mergeImages [ bash layeredImageWithFakeRootCommands ];

  # nixpkgs: mergeVaryingCompressor
  mergeVaryingCompressor = mergeImages [ redis bashUncompressed bashZstdCompressed ];

  # nixpkgs: helloOnRoot (a buildEnv at the root, store included)
  helloOnRoot = streamLayeredImage {
    name = "hello";
    tag = "latest";
    contents = [ (pkgs.buildEnv { name = "hello-root"; paths = [ pkgs.hello ]; }) ];
    config.Cmd = [ "hello" ];
  };

  # nixpkgs: helloOnRootNoStore (includeStorePaths = false)
  helloOnRootNoStore = streamLayeredImage {
    name = "hello";
    tag = "latest";
    contents = [ (pkgs.buildEnv { name = "hello-root"; paths = [ pkgs.hello ]; }) ];
    config.Cmd = [ "hello" ];
    includeStorePaths = false;
  };

  # nixpkgs: helloOnRootNoStoreFakechroot
  helloOnRootNoStoreFakechroot = streamLayeredImage {
    name = "hello";
    tag = "latest";
    contents = [ (pkgs.buildEnv { name = "hello-root"; paths = [ pkgs.hello ]; }) ];
    config.Cmd = [ "hello" ];
    includeStorePaths = false;
    enableFakechroot = true;
  };

  # nixpkgs: exportBash
  exportBash = exportImage { fromImage = bash; };

  # nixpkgs: bashUncompressed (compressor = "none")
  bashUncompressed = buildImage {
    name = "bash-uncompressed";
    tag = "latest";
    compressor = "none";
    copyToRoot = pkgs.bashInteractive;
  };

  # nixpkgs: bashZstdCompressed (compressor = "zstd")
  bashZstdCompressed = buildImage {
    name = "bash-zstd";
    tag = "latest";
    compressor = "zstd";
    copyToRoot = pkgs.bashInteractive;
  };

  # nixpkgs: imageViaFakeChroot (fakeRootCommands that see the image as /)
  imageViaFakeChroot = streamLayeredImage {
    name = "image-via-fake-chroot";
    tag = "latest";
    config.Cmd = [ "hello" ];
    enableFakechroot = true;
    inherit shell;
    fakeRootCommands = ''
      mkdir /bin
      ln -s ${pkgs.hello}/bin/hello /bin/hello
    '';
  };

  # nixpkgs: etc (NixOS' etc activation under fakechroot; here its effect,
  # a file written into /etc, without the NixOS module system)
  etc = streamLayeredImage {
    name = "etc";
    tag = "latest";
    enableFakechroot = true;
    inherit shell;
    fakeRootCommands = ''
      mkdir -p /etc
      printf '127.0.0.1 localhost\n::1 localhost\n' > /etc/some-config-file
    '';
    config.Cmd = [
      (pkgs.writeScript "etc-cmd" ''
        #!${pkgs.bbBin}/bin/sh
        ${pkgs.bbBin}/bin/cat /etc/some-config-file
      '')
    ];
  };

  # nixpkgs: chownTestImage (chown under fakechroot)
  chownTestImage = streamLayeredImage {
    name = "chown-test";
    tag = "latest";
    enableFakechroot = true;
    inherit shell;
    fakeRootCommands = ''
      touch /testfile
      chown 12345:12345 /testfile
    '';
    config.Cmd = [ "${pkgs.coreutils}/bin/stat" "-c" "%u:%g" "/testfile" ];
  };

  # nixpkgs: layersUnpackOrder (each runAsRoot appends to one file)
  layersUnpackOrder =
    let
      layerOnTopOf = parent: layerName: buildImage {
        name = "layers-unpack-order-${layerName}";
        tag = "latest";
        fromImage = parent;
        copyToRoot = [ pkgs.coreutils ];
        runAsRoot = ''
          #!${pkgs.runtimeShell}
          echo -n "${layerName}" >> /layer-order
        '';
      };
      a = layerOnTopOf null "a";
      b = layerOnTopOf a "b";
    in
    layerOnTopOf b "c";

  # nixpkgs: build-image-with-path (a Nix path in copyToRoot)
  build-image-with-path = buildImage {
    name = "build-image-with-path";
    tag = "latest";
    copyToRoot = [ pkgs.hello ./test-dummy ];
  };

  # nixpkgs: layered-image-with-path (a Nix path in contents)
  layered-image-with-path = streamLayeredImage {
    name = "layered-image-with-path";
    tag = "latest";
    contents = [ pkgs.hello ./test-dummy ];
  };

  # nixpkgs: build-image-with-architecture
  build-image-with-architecture = buildImage {
    name = "build-image-with-architecture";
    tag = "latest";
    architecture = "arm64";
    copyToRoot = [ pkgs.hello ];
  };

  # nixpkgs: layered-image-with-architecture
  layered-image-with-architecture = streamLayeredImage {
    name = "layered-image-with-architecture";
    tag = "latest";
    architecture = "arm64";
    contents = [ pkgs.hello ];
  };

  # nixpkgs: image-with-certs (dockerTools.caCertificates)
  image-with-certs = buildImage {
    name = "image-with-certs";
    tag = "latest";
    copyToRoot = pkgs.buildEnv {
      name = "image-with-certs-root";
      paths = [ pkgs.coreutils (nl.caCertificates { inherit (pkgs) cacert; }) ];
    };
  };

  # nixos/tests/docker-tools.nix: nonRootTestImage (uid, gid, uname, gname).
  # That test runs chownTestImage in its place; config.User names a user the
  # image has no /etc/passwd entry for, which nixlayer refuses on purpose.
  nonRootTestImage = streamLayeredImage {
    name = "non-root-test";
    tag = "latest";
    uid = 1000;
    gid = 1000;
    uname = "user";
    gname = "user";
    config = {
      User = "user";
      Cmd = [ "${pkgs.coreutils}/bin/stat" "-c" "%u:%g" "${pkgs.coreutils}/bin/stat" ];
    };
  };

  # nixos/tests/docker-tools.nix: repeatedLayerTestImage (a base image whose
  # manifest lists one layer tarball twice, as Docker can write)
  # Its layer2: buildImage on layer1 with nothing new, which dockerTools
  # gives a second (empty) layer.
  repeatedLayerBase = buildImage {
    name = "empty";
    compressor = "none";
    fromImage = buildImage { name = "empty"; compressor = "none"; };
  };
  repeatedLayerTestImage =
    let
      layer2 = repeatedLayerBase;
      repeatedRootfsDiffs = pkgs.runCommand "image-with-links.tar" { } ''
        mkdir contents
        tar -xf ${layer2} -C contents
        cd contents
        layers=$(sed 's/.*"Layers":\[\([^]]*\)\].*/\1/' manifest.json | tr -d '"' | tr , ' ')
        set -- $layers
        [ $# -ge 2 ] || { echo "the base has $# layers, want 2"; exit 1; }
        d1=$(sha256sum "$1" | cut -d' ' -f1)
        d2=$(sha256sum "$2" | cut -d' ' -f1)
        target=$d1.tar
        chmod -R u+w .
        mv "$1" "$target"
        rm -f "$2"
        # Both entries of the config's diff_ids name the one tarball now;
        # the config is renamed after its new digest.
        config=$(sed 's/.*"Config":"\([^"]*\)".*/\1/' manifest.json)
        sed -i "s|$d2|$d1|" "$config"
        newconfig=$(sha256sum "$config" | cut -d' ' -f1).json
        mv "$config" "$newconfig"
        sed -i "s|\"$1\"|\"$target\"|; s|\"$2\"|\"$target\"|; s|\"$config\"|\"$newconfig\"|" manifest.json
        tar -cf $out .
      '';
    in
    buildImage {
      fromImage = repeatedRootfsDiffs;
      name = "repeated-layer-test";
      tag = "latest";
      copyToRoot = pkgs.bash;
      inherit shell;
      runAsRoot = ''
        echo 'runAsRoot has run.'
      '';
    };

  # Misspelt arguments (issue 12): dockerTools fails on neither, but an
  # argument nixlayer ignores is a silent wrong image; these must not build.
  misspeltContents = buildImage { name = "misspelt"; contnets = [ pkgs.hello ]; };
}
# nixpkgs' nix-shell examples (buildNixShellImage, streamNixShellImage).
// import ./nixshell-examples.nix { inherit nl testPkgs; }

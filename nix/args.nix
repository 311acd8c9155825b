# The arguments of each builder, in one place: what every function takes,
# what dockerTools takes that nixlayer does not (and what to use instead),
# and the check that makes every other name an evaluation error with the
# nearest valid name as a suggestion. Imported by default.nix.
#
# To add an argument, add its name to the list of the functions that take
# it (`common` for every image builder): nixlayer then gets it, as the user
# wrote it, in the image spec (add the image.Spec field). An argument that
# Nix must turn into something else first (derivations to build, paths)
# goes into `special` too, and the file that reads it passes what nixlayer
# needs.
let
  inherit (builtins) attrNames filter foldl' genList head length listToAttrs
    stringLength substring sort concatStringsSep elem tail;
in
rec {
  # Every image builder (buildImage, buildLayeredImage, streamLayeredImage
  # and the *WithNixDb variants).
  common = [
    "name" "tag" "contents" "copyToRoot" "config" "created" "mtime"
    "uid" "gid" "uname" "gname" "architecture" "variant" "format"
    "compression" "compressor" "includeStorePaths" "includeNixDB"
    "nixUid" "nixGid" "nixUname" "nixGname"
    "fromImage" "fromImageName" "fromImageTag"
    "users" "groups" "perms" "symlinks" "files" "directories"
    "extraCommands" "shell" "keepContentsDirlinks" "debug" "passthru" "meta"
    "layers" "sbom" "contentAddressed"
  ];
  # buildImage adds runAsRoot; the layered builders add their layering and
  # fakeRootCommands (rootscript: no VM, no fakeroot).
  single = common ++ [ "runAsRoot" ];
  layered = common ++ [ "maxLayers" "layering" "fakeRootCommands" "enableFakechroot" ];

  # The arguments default.nix reads itself; nixlayer (image.Spec) reads
  # every other name of a function's list, as the user wrote it.
  special = [
    "name" "contents" "copyToRoot" "fromImage" "files" "shell"
    "keepContentsDirlinks" "debug" "passthru" "meta" "layers"
    "contentAddressed"
  ];

  # The names each function takes.
  functions = {
    buildImage = single;
    buildImageWithNixDb = single;
    buildLayeredImage = layered;
    buildLayeredImageWithNixDb = layered;
    streamLayeredImage = layered;
  };

  # The attributes of a content-addressed derivation, for the builders'
  # and buildLayer's `contentAddressed = true` (Nix needs
  # `experimental-features = ca-derivations`): the output's path is the
  # hash of its contents, which hold nothing of $out (README, "Guarantees").
  caAttrs = ca: if ca then { __contentAddressed = true; outputHashMode = "recursive"; outputHashAlgo = "sha256"; } else { };

  # dockerTools arguments nixlayer does not take, with what to do instead.
  refused = {
    diskSize = "nixlayer runs no VM: not needed; remove it";
    buildVMMemorySize = "nixlayer runs no VM: not needed; remove it";
    layeringPipeline = "use `layering` (\"popularity\", \"size\" or \"none\"; README, \"Layering strategies\")";
  };

  # Levenshtein distance of two strings, one row at a time.
  distance = a: b:
    let
      la = stringLength a; lb = stringLength b;
      ca = genList (i: substring i 1 a) la;
      cb = genList (j: substring j 1 b) lb;
      min3 = x: y: z: let m = if x < y then x else y; in if m < z then m else z;
      step = prev: c:
        let
          row = foldl' (acc: j:
            let
              left = head acc.rev;
              cost = if c == builtins.elemAt cb j then 0 else 1;
              v = min3 (left + 1) (builtins.elemAt prev (j + 1) + 1) (builtins.elemAt prev j + cost);
            in { rev = [ v ] ++ acc.rev; }) { rev = [ (head prev + 1) ]; } (genList (j: j) lb);
        in builtins.genList (k: builtins.elemAt row.rev (lb - k)) (lb + 1);
      last = foldl' step (genList (j: j) (lb + 1)) ca;
    in if la == 0 then lb else if lb == 0 then la else builtins.elemAt last lb;

  # The valid name nearest to a, when near enough to be a misspelling.
  suggest = valid: a:
    let
      scored = map (v: { name = v; d = distance (lower a) (lower v); }) valid;
      best = head (sort (x: y: x.d < y.d || (x.d == y.d && x.name < y.name)) scored);
      limit = if stringLength a <= 4 then 1 else if stringLength a <= 8 then 2 else 3;
    in if scored != [ ] && best.d <= limit then best.name else null;

  lower = s:
    let up = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"; low = "abcdefghijklmnopqrstuvwxyz";
    in builtins.replaceStrings (genList (i: substring i 1 up) 26) (genList (i: substring i 1 low) 26) s;

  # The message for one argument fn does not take.
  message = fn: a:
    let
      valid = functions.${fn};
      elsewhere = filter (f: elem a functions.${f}) (attrNames functions);
      near = suggest valid a;
    in
    if refused ? ${a} then "${a} is not supported: ${refused.${a}}"
    else if elsewhere != [ ] then "${a} is an argument of ${concatStringsSep ", " elsewhere}, not of ${fn}"
    else if near != null then "unknown argument ${a}; did you mean ${near}?"
    else "unknown argument ${a}; ${fn} takes ${concatStringsSep ", " valid}";

  # True when args holds only names fn takes, else an evaluation error
  # naming every other one. A refused argument given as null passes.
  check = fn: args:
    let
      bad = filter (a: !(elem a functions.${fn}) && !(refused ? ${a} && args.${a} == null)) (attrNames args);
    in bad == [ ] || throw "nixlayer.${fn}: ${concatStringsSep "; " (map (message fn) bad)}";
}

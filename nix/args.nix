# The checks of the builders' arguments: every name a function's pattern
# does not list is an evaluation error, with the nearest valid name as a
# suggestion, the builders that do take it, or, for the dockerTools
# arguments nixlayer does not take, what to do instead. The names
# themselves live once, in the functions' patterns (default.nix,
# layer.nix): `builtins.functionArgs nl.buildLayeredImage` lists them, and
# the check reads them from there. Imported by default.nix and layer.nix.
let
  inherit (builtins) attrNames filter foldl' genList head stringLength substring sort
    concatStringsSep;
in
rec {
  # The attributes of a content-addressed derivation, for the builders'
  # and buildLayer's `contentAddressed = true` (Nix needs
  # `experimental-features = ca-derivations`): the output's path is the
  # hash of its contents, which hold nothing of $out (README, "Guarantees").
  caAttrs = ca: if ca then { __contentAddressed = true; outputHashMode = "recursive"; outputHashAlgo = "sha256"; } else { };

  # dockerTools arguments nixlayer does not take, with what to do instead.
  refused = {
    diskSize = "nixlayer runs no VM: not needed; remove it";
    buildVMMemorySize = "nixlayer runs no VM: not needed; remove it";
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

  # The names fn takes (takes: function name -> builtins.functionArgs), in
  # the order its pattern lists them (sorted where Nix gives no position).
  names = takes: fn:
    let
      a = takes.${fn};
      pos = n: let p = builtins.unsafeGetAttrPos n a; in if p == null then 0 else p.line * 1000 + p.column;
    in sort (x: y: pos x < pos y || (pos x == pos y && x < y)) (attrNames a);

  # The message for one argument fn does not take; takes holds the
  # functionArgs of fn and of the functions that share its arguments.
  message = takes: fn: a:
    let
      valid = names takes fn;
      elsewhere = filter (f: takes.${f} ? ${a}) (attrNames takes);
      near = suggest valid a;
    in
    if refused ? ${a} then "${a} is not supported: ${refused.${a}}"
    else if elsewhere != [ ] then "${a} is an argument of ${concatStringsSep ", " elsewhere}, not of ${fn}"
    else if near != null then "unknown argument ${a}; did you mean ${near}?"
    else "unknown argument ${a}; ${fn} takes ${concatStringsSep ", " valid}";

  # True when args holds only names fn's pattern lists (takes.${fn}), else
  # an evaluation error naming every other one. A refused argument given as
  # null passes.
  check = takes: fn: args:
    let
      bad = filter (a: !(takes.${fn} ? ${a}) && !(refused ? ${a} && args.${a} == null)) (attrNames args);
    in bad == [ ] || throw "nixlayer.${fn}: ${concatStringsSep "; " (map (message takes fn) bad)}";
}

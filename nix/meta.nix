# What nixlayer reads of a derivation's `meta` (nixpkgs' conventions):
# license as an SPDX expression made of the licenses' spdxId ("A AND B"
# for a list; a license without an spdxId, unfree say, leaves it out
# rather than misstating it), the first homepage, and the description.
# Used for the SBOM (sbom.nix) and the image's annotations (default.nix).
rec {
  license = l:
    let ls = if builtins.isList l then l else [ l ];
        ids = map (x: if builtins.isAttrs x && builtins.isString (x.spdxId or null) then x.spdxId else null) ls;
    in if ls == [ ] || builtins.elem null ids then null else builtins.concatStringsSep " AND " ids;
  first = v: if builtins.isList v then (if v == [ ] then null else builtins.head v) else v;
  # { license; homepage; description; } of meta m, each a non-empty string
  # or absent.
  fields = m:
    let f = {
          license = if m ? license then license m.license else null;
          homepage = first (m.homepage or null);
          description = m.description or null;
        };
    in builtins.removeAttrs f (builtins.filter (n: !(builtins.isString f.${n}) || f.${n} == "") (builtins.attrNames f));
  # The OCI annotations of an image named name with meta m.
  annotations = name: m:
    let f = fields m; in
    { "org.opencontainers.image.title" = m.title or name; }
    // (if f ? description then { "org.opencontainers.image.description" = f.description; } else { })
    // (if f ? license then { "org.opencontainers.image.licenses" = f.license; } else { })
    // (if f ? homepage then { "org.opencontainers.image.url" = f.homepage; } else { });
}

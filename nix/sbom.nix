# The meta of the derivations an image names in contents (and copyToRoot),
# by store path: what nixlayer's SBOM cannot read from the closure
# (spec.Spec's sbomMeta; the user's `sbom` entries override it field by
# field). A license is an SPDX expression made of the licenses' spdxId
# ("A AND B" for a list); one without an spdxId (unfree, say) leaves the
# license out rather than misstating it. Store paths named only in config
# strings carry no meta here: their derivations are out of reach.
drvs:
let
  isDrv = d: builtins.isAttrs d && d ? outPath;
  license = l:
    let ls = if builtins.isList l then l else [ l ];
        ids = map (x: if builtins.isAttrs x && builtins.isString (x.spdxId or null) then x.spdxId else null) ls;
    in if ls == [ ] || builtins.elem null ids then null else builtins.concatStringsSep " AND " ids;
  first = v: if builtins.isList v then (if v == [ ] then null else builtins.head v) else v;
  metaOf = d:
    let m = d.meta or { };
        f = {
          license = if m ? license then license m.license else null;
          homepage = first (m.homepage or null);
          description = m.description or null;
        };
    in builtins.removeAttrs f (builtins.filter (n: !(builtins.isString f.${n}) || f.${n} == "") (builtins.attrNames f));
  entries = map (d: { name = builtins.unsafeDiscardStringContext (toString d); value = metaOf d; }) (builtins.filter isDrv drvs);
in builtins.listToAttrs (builtins.filter (e: e.value != { }) entries)

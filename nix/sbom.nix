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
  meta = import ./meta.nix;
  metaOf = d: meta.fields (d.meta or { });
  entries = map (d: { name = builtins.unsafeDiscardStringContext (toString d); value = metaOf d; }) (builtins.filter isDrv drvs);
in builtins.listToAttrs (builtins.filter (e: e.value != { }) entries)

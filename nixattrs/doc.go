// Package nixattrs reads the structured attributes Nix hands to a builder
// (__structuredAttrs = true): $NIX_ATTRS_JSON_FILE, the same file under
// $NIX_BUILD_TOP when Nix 2.8 named it by its path outside the sandbox, or
// ./.attrs.json in the build directory as older Nix versions leave it.
package nixattrs

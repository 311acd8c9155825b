// Package spec is the user's configuration of a build, and nothing else:
// Spec (an image builder's arguments as Nix or the command line give them),
// LayerSpec (nl.buildLayer's), and Resolve/ResolveLayer, the one place
// where every default is chosen and every argument checked, giving
// Settings and LayerSettings (typed and complete). It also parses what
// arguments hold: dates and mtimes (Timestamp), platforms (ResolvePlatform,
// CheckPlatform, on go-containerregistry's v1.Platform) and the SBOM
// argument. Defaults are chosen by explicit fields (Layered, Stream), never
// by the Nix function's name, which only names errors. It imports no
// builder, reader or writer: the packages that build, stream and inspect
// images take its types.
package spec

// Package registration reads the closure graphs Nix hands to a builder
// (exportReferencesGraph in plain text or in structured attrs, and the
// closureInfo "registration" format) into one Graph type, and writes
// closureInfo output. Store paths are validated with go-nix storepath.
package registration

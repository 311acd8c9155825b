package registration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// structuredEntry is one element of a structured-attrs closure list. Other
// fields (closureSize, ca, valid) are ignored.
type structuredEntry struct {
	Path       *string      `json:"path"`
	NarHash    string       `json:"narHash"`
	NarSize    *json.Number `json:"narSize"`
	References *[]string    `json:"references"`
}

// ParseStructured reads the closure list that Nix puts in .attrs.json for
// `exportReferencesGraph.<name> = [ ... ];` with `__structuredAttrs = true`:
// a JSON list of objects with the fields path, narHash ("sha256:<nix32>"),
// narSize and references. data is that list (for example the raw value of
// the attribute); name names the input in errors; storeDir is the store
// directory ("" for /nix/store).
func ParseStructured(data []byte, name, storeDir string) (*Graph, error) {
	if storeDir == "" {
		storeDir = DefaultStoreDir
	}
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("parsing closure graph %q: "+format, append([]any{name}, args...)...)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, errorf("want a JSON list of store path objects: %w", err)
	}
	if raw == nil && !bytes.Equal(bytes.TrimSpace(data), []byte("[]")) {
		return nil, errorf("want a JSON list of store path objects, got null")
	}
	infos := make([]PathInfo, 0, len(raw))
	seen := make(map[string]int, len(raw))
	for i, msg := range raw {
		info, err := parseStructuredEntry(msg, storeDir)
		if err != nil {
			return nil, errorf("[%d]%s: %w", i, pathSuffix(info.Path), err)
		}
		if first, dup := seen[info.Path]; dup {
			return nil, errorf("[%d]: store path %s appears twice (first at [%d])", i, info.Path, first)
		}
		seen[info.Path] = i
		infos = append(infos, info)
	}
	for i, info := range infos {
		for j, ref := range info.References {
			if _, ok := seen[ref]; !ok {
				return nil, errorf("[%d].references[%d]: %s references %s, which is not in the closure", i, j, info.Path, ref)
			}
		}
	}
	g, err := NewGraph(storeDir, infos)
	if err != nil {
		return nil, errorf("%w", err)
	}
	return g, nil
}

// pathSuffix names a store path in an error when it is known.
func pathSuffix(p string) string {
	if p == "" {
		return ""
	}
	return " (" + p + ")"
}

// parseStructuredEntry checks one element of a structured closure list. The
// returned info carries the path as soon as it is known, even with an error.
func parseStructuredEntry(msg json.RawMessage, storeDir string) (PathInfo, error) {
	var e structuredEntry
	var info PathInfo
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return info, fmt.Errorf("want an object with path, narHash, narSize and references: %w", err)
	}
	if e.Path == nil {
		return info, fmt.Errorf("field path is missing")
	}
	info.Path = *e.Path
	if err := CheckStorePath(storeDir, info.Path); err != nil {
		return info, fmt.Errorf("field path: %w", err)
	}
	if e.NarHash != "" {
		if _, err := ParseNarHash(e.NarHash); err != nil {
			return info, fmt.Errorf("field narHash: %w", err)
		}
		info.NarHash = e.NarHash
	}
	if e.NarSize != nil {
		n, err := strconv.ParseUint(e.NarSize.String(), 10, 64)
		if err != nil {
			return info, fmt.Errorf("field narSize: %s is not a size in bytes", e.NarSize.String())
		}
		info.NarSize = n
	}
	if e.References == nil {
		return info, fmt.Errorf("field references is missing")
	}
	for j, ref := range *e.References {
		if err := CheckStorePath(storeDir, ref); err != nil {
			return info, fmt.Errorf("references[%d]: %w", j, err)
		}
	}
	info.References = *e.References
	return info, nil
}

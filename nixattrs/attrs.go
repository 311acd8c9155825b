// Package nixattrs reads the structured attributes Nix hands to a builder
// (__structuredAttrs = true): $NIX_ATTRS_JSON_FILE, or ./.attrs.json in the
// build directory as older Nix versions leave it.
package nixattrs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Attrs is the decoded .attrs.json of a derivation.
type Attrs struct {
	// File is where the attributes were read from, for error messages.
	File    string
	Outputs map[string]string
	raw     map[string]json.RawMessage
}

// ErrNotBuilder is returned by Load when no structured attributes are
// found: the command is not running as a Nix builder.
var ErrNotBuilder = errors.New("no structured attrs: not running as a Nix builder (no $NIX_ATTRS_JSON_FILE, no ./.attrs.json)")

// Load finds and reads the structured attributes of the running build.
func Load() (*Attrs, error) {
	file := os.Getenv("NIX_ATTRS_JSON_FILE")
	if file == "" {
		if _, err := os.Stat(".attrs.json"); err != nil {
			return nil, ErrNotBuilder
		}
		file = ".attrs.json"
	}
	return Read(file)
}

// Read reads structured attributes from file.
func Read(file string) (*Attrs, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading structured attrs: %w", err)
	}
	a := &Attrs{File: file}
	if err := json.Unmarshal(data, &a.raw); err != nil {
		return nil, fmt.Errorf("reading structured attrs %s: %w", file, err)
	}
	if o, ok := a.raw["outputs"]; ok {
		if err := json.Unmarshal(o, &a.Outputs); err != nil {
			return nil, fmt.Errorf("reading outputs in %s: %w", file, err)
		}
	}
	return a, nil
}

// Raw returns the JSON of attribute key, or nil when it is absent.
func (a *Attrs) Raw(key string) json.RawMessage { return a.raw[key] }

// Decode decodes attribute key into v, rejecting unknown fields when v is a
// struct, and names the attribute and file on error. An absent attribute
// is an error.
func (a *Attrs) Decode(key string, v any) error {
	raw, ok := a.raw[key]
	if !ok {
		return fmt.Errorf("structured attrs %s have no %q attribute", a.File, key)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("reading attribute %q of %s: %w", key, a.File, err)
	}
	return nil
}

// Out returns the path of output "out".
func (a *Attrs) Out() (string, error) {
	out := a.Outputs["out"]
	if out == "" {
		return "", fmt.Errorf("structured attrs %s name no output \"out\"", a.File)
	}
	return out, nil
}

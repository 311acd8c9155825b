package nixattrs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Attrs is the decoded .attrs.json of a derivation.
type Attrs struct {
	// File is where the attributes were read from, for error messages.
	File    string
	Outputs map[string]string
	raw     map[string]json.RawMessage
}

// ErrNotBuilder is returned, wrapped with the paths tried, by Load when
// no structured attributes are found and $NIX_ATTRS_JSON_FILE is unset: the
// command is not running as a Nix builder.
var ErrNotBuilder = errors.New("no structured attrs: not running as a Nix builder")

// Load finds and reads the structured attributes of the running build. It
// tries, in order:
//
//   - $NIX_ATTRS_JSON_FILE, when set and the file exists;
//   - the same file name under $NIX_BUILD_TOP: Nix 2.8 sets
//     NIX_ATTRS_JSON_FILE to the build directory's path on the host, which
//     inside the sandbox is mounted at $NIX_BUILD_TOP (/build);
//   - ./.attrs.json, where older Nix versions leave it.
//
// When none exists the error names every path tried; it is ErrNotBuilder
// only when $NIX_ATTRS_JSON_FILE is unset.
func Load() (*Attrs, error) {
	env := os.Getenv("NIX_ATTRS_JSON_FILE")
	tried := candidates(env, os.Getenv("NIX_BUILD_TOP"))
	for _, file := range tried {
		if _, err := os.Stat(file); err == nil {
			return Read(file)
		}
	}
	list := strings.Join(tried, ", ")
	if env == "" {
		return nil, fmt.Errorf("%w (tried %s)", ErrNotBuilder, list)
	}
	return nil, fmt.Errorf("reading structured attrs: none of %s exists ($NIX_ATTRS_JSON_FILE is %s)", list, env)
}

// candidates lists the files Load tries, in order and without repeats.
func candidates(env, buildTop string) []string {
	var files []string
	add := func(f string) {
		if f != "" && !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	add(env)
	if buildTop != "" {
		name := ".attrs.json"
		if env != "" {
			name = filepath.Base(env)
		}
		add(filepath.Join(buildTop, name))
	}
	add(".attrs.json")
	return files
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

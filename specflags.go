package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode"

	"github.com/nixlayer/nixlayer/spec"
)

// FieldKind says how a command-line flag gives a Spec field's JSON value.
type FieldKind int

const (
	// StringField: the flag's text is the JSON string.
	StringField FieldKind = iota
	// BoolField: a boolean flag.
	BoolField
	// StringsField: a repeatable flag, each one a string of the list.
	StringsField
	// JSONField: the flag's text is the JSON value (a number, a list, an
	// object).
	JSONField
)

// SpecField is a field of Spec as a command-line flag sets it.
type SpecField struct {
	// JSON is the field's name in the spec ("maxLayers"), Flag the flag's
	// ("max-layers").
	JSON, Flag string
	Kind       FieldKind
}

// SpecFields returns every field of Spec (customize.Spec's included), each
// with its flag, sorted by flag: the command line reaches every field.
func SpecFields() []SpecField {
	var out []SpecField
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			out = append(out, SpecField{JSON: name, Flag: kebab(name), Kind: kindOf(f.Type)})
		}
	}
	walk(reflect.TypeFor[spec.Spec]())
	sort.Slice(out, func(i, j int) bool { return out[i].Flag < out[j].Flag })
	return out
}

func kindOf(t reflect.Type) FieldKind {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.String:
		return StringField
	case t.Kind() == reflect.Bool:
		return BoolField
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return StringsField
	}
	return JSONField
}

// kebab turns a JSON field name into a flag name: "maxLayers" →
// "max-layers", "includeNixDB" → "include-nix-db".
func kebab(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && unicode.IsLower(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1]) && i > 0 && unicode.IsUpper(rs[i-1])
			if prevLower || nextLower {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FlagValue returns the JSON value a flag of field f gives: text for a
// string, "true"/"false" for a bool, the list for repeated string flags,
// the text itself, checked, for the others.
func (f SpecField) FlagValue(text string, list []string, on bool) (json.RawMessage, error) {
	var v any
	switch f.Kind {
	case StringField:
		v = text
	case BoolField:
		v = on
	case StringsField:
		v = list
	default:
		if !json.Valid([]byte(text)) {
			return nil, fmt.Errorf("flag --%s: %q is not a JSON value (the spec's %s field)", f.Flag, text, f.JSON)
		}
		return json.RawMessage(text), nil
	}
	return json.Marshal(v)
}

// OverlaySpec reads a spec from data (a JSON object, or empty for none)
// with the fields of values set over it, one JSON value per field name, and
// decodes the result as ParseSpec does: the command line's flags and a
// --spec file go through the same strict step. source names the input in
// errors.
func OverlaySpec(data []byte, source string, values map[string]json.RawMessage) (*spec.Spec, error) {
	fields := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &fields); err != nil {
			return nil, fmt.Errorf("reading image spec %s: %w", source, err)
		}
	}
	for k, v := range values {
		fields[k] = v
	}
	merged, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("reading image spec %s: %w", source, err)
	}
	return spec.ParseSpec(merged, source)
}

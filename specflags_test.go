package main

import (
	"encoding/json"
	"testing"
)

// TestOverlaySpec: flags set the spec's fields by their JSON names over a
// --spec file, and every field of the spec has a flag.
func TestOverlaySpec(t *testing.T) {
	fields := map[string]SpecField{}
	for _, f := range SpecFields() {
		fields[f.JSON] = f
	}
	for jsonName, flag := range map[string]string{"maxLayers": "max-layers", "includeNixDB": "include-nix-db", "fromImageTag": "from-image-tag",
		"mtime": "mtime", "extraCommands": "extra-commands", "nixUid": "nix-uid", "users": "users", "shell": "shell"} {
		if fields[jsonName].Flag != flag {
			t.Errorf("field %s has flag %q, want %q", jsonName, fields[jsonName].Flag, flag)
		}
	}
	if n := len(fields); n < 38 {
		t.Errorf("%d spec fields have flags; want every one (38)", n)
	}
	values := map[string]json.RawMessage{}
	set := func(name, text string, list []string, on bool) {
		v, err := fields[name].FlagValue(text, list, on)
		if err != nil {
			t.Fatal(err)
		}
		values[name] = v
	}
	set("maxLayers", "7", nil, false)
	set("tag", "v2", nil, false)
	set("contents", "", []string{"/nix/store/a", "/nix/store/b"}, false)
	set("includeNixDB", "", nil, true)
	set("users", `[{"name":"app","uid":1000}]`, nil, false)
	spec, err := OverlaySpec([]byte(`{"name":"x","tag":"v1","maxLayers":3,"layering":"size"}`), "spec.json", values)
	if err != nil {
		t.Fatal(err)
	}
	if *spec.MaxLayers != 7 || *spec.Tag != "v2" || spec.Layering != "size" || !spec.IncludeNixDB || len(spec.Contents) != 2 || len(spec.Users) != 1 || spec.Name != "x" {
		t.Errorf("overlaid spec %+v", spec)
	}
	if _, err := fields["maxLayers"].FlagValue("seven", nil, false); err == nil {
		t.Error("--max-layers seven: no error")
	}
	if _, err := OverlaySpec([]byte(`{"name":"x","maxLayer":3}`), "spec.json", nil); err == nil {
		t.Error("a spec with an unknown field: no error")
	}
}

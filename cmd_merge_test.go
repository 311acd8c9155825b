package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMergeBuilderErrors runs merge-images as a Nix builder whose
// structured attrs lack what it needs or hold a misspelt field.
func TestMergeBuilderErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	for _, tt := range []struct {
		name, json, want string
	}{
		{"no nixlayer attribute", `{"outputs":{"out":"` + out + `"}}`, `"nixlayer"`},
		{"misspelt field", `{"outputs":{"out":"` + out + `"},"nixlayer":{"imgs":[]}}`, `unknown field "imgs"`},
		{"no image", `{"outputs":{"out":"` + out + `"},"nixlayer":{"images":[]}}`, "no image given"},
		{"missing image", `{"outputs":{"out":"` + out + `"},"nixlayer":{"images":[{"path":"/nonexistent/img"}]}}`, "/nonexistent/img"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".json")
			if err := os.WriteFile(f, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("NIX_ATTRS_JSON_FILE", f)
			app := newApp()
			app.Writer, app.ErrWriter = io.Discard, io.Discard
			err := app.Run([]string{"nixlayer", "merge-images"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("an output was left behind")
			}
		})
	}
}

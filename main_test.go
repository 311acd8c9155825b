package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArgumentErrors runs commands with the wrong number of arguments and
// checks that each error shows the command's usage.
func TestArgumentErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"inspect"}, "usage: nixlayer inspect ARCHIVE|LAYOUT (got 0 arguments)"},
		{[]string{"inspect", "a", "b"}, "usage: nixlayer inspect ARCHIVE|LAYOUT (got 2 arguments)"},
		{[]string{"export", "--out", "x.tar"}, "usage: nixlayer export IMAGE (got 0 arguments)"},
		{[]string{"pin"}, "usage: nixlayer pin NAME[:TAG] (got 0 arguments)"},
		{[]string{"push", "image.tar"}, "usage: nixlayer push SOURCE DEST (got 1 arguments)"},
		{[]string{"pull", "--out", "x.tar", "alpine:3"}, `pull: give NAME@DIGEST and --out FILE (got "alpine:3"; nixlayer pin resolves a tag)`},
		{[]string{"stream"}, "usage: nixlayer stream SCRIPT [-o FILE] [-t NAME:TAG] [--compressor gz|zstd|none]"},
		{[]string{"stream", "a", "b"}, "usage: nixlayer stream SCRIPT [-o FILE] [-t NAME:TAG] [--compressor gz|zstd|none]"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			app := newApp()
			app.Writer, app.ErrWriter = io.Discard, io.Discard
			err := app.Run(append([]string{"nixlayer"}, tt.args...))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestBuilderInputErrors runs build-image and closure-info without the
// inputs they need, outside Nix (no structured attrs) and as a builder
// whose structured attrs lack an attribute.
func TestBuilderInputErrors(t *testing.T) {
	dir := t.TempDir()
	attrs := func(json string) string {
		f := filepath.Join(dir, fmt.Sprintf("attrs-%d.json", len(json)))
		if err := os.WriteFile(f, []byte(json), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	noImage := attrs(`{"outputs":{"out":"` + dir + `/out"}}`)
	noClosure := attrs(`{"outputs":{"out":"` + dir + `/out"},"nixlayer":{"name":"x"}}`)
	tests := []struct {
		attrs string
		args  []string
		want  string
	}{
		{"", []string{"build-image", "--name", "x"}, "outside a Nix build, --closure and --out are required"},
		{"", []string{"closure-info", "--out", dir}, "closure-info: give both --closure and --out"},
		{"", []string{"closure-info"}, "closure-info: no structured attrs: not running as a Nix builder"},
		{noImage, []string{"build-image"}, `structured attrs ` + noImage + ` have no "nixlayer" attribute (the image options)`},
		{noClosure, []string{"build-image"}, `structured attrs ` + noClosure + ` have no "closure" attribute (exportReferencesGraph.closure)`},
		{noImage, []string{"closure-info"}, `closure-info: structured attrs ` + noImage + ` have no "closure"`},
	}
	t.Chdir(dir) // no ./.attrs.json here
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+" "+filepath.Base(tt.attrs), func(t *testing.T) {
			t.Setenv("NIX_ATTRS_JSON_FILE", tt.attrs)
			app := newApp()
			app.Writer, app.ErrWriter = io.Discard, io.Discard
			err := app.Run(append([]string{"nixlayer"}, tt.args...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

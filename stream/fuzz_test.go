package stream

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadScript feeds ReadScript a file of arbitrary bytes: a script or
// an error, never a panic; a script it accepts has a descriptor for each
// layer.
func FuzzReadScript(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("..", "wire", "testdata", "script-v3.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append([]byte("#!/nix/store/x-nixlayer/bin/nixlayer stream\n"), golden...))
	f.Add([]byte("#!/x stream\n{\"version\":3}"))
	f.Add([]byte("#!/x stream\n{\"version\":3,\"layers\":[{\"descriptor\":{},\"file\":\"/etc/passwd\"}]}"))
	f.Add([]byte("#!/bin/sh\necho"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "script")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := ReadScript(p)
		if err != nil {
			return
		}
		if len(s.Layers) != len(s.Blobs) {
			t.Errorf("%d layers, %d descriptors", len(s.Layers), len(s.Blobs))
		}
	})
}

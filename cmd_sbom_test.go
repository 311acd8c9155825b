package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestSBOMCommandErrors checks the sbom command's errors for a wrong
// argument count, an unknown format and an image that is not there.
func TestSBOMCommandErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.tar")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sbom"}, "usage: nixlayer sbom IMAGE (got 0 arguments)"},
		{[]string{"sbom", "--format", "spdx", missing}, `unknown SBOM format "spdx": use spdx-json or cyclonedx-json`},
		{[]string{"sbom", "--format", "cyclonedx-json", missing}, "reading the SBOM of " + missing},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			app := newApp()
			app.Writer, app.ErrWriter = io.Discard, io.Discard
			err := app.Run(append([]string{"nixlayer"}, tt.args...))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

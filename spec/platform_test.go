package spec

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestCheckPlatform(t *testing.T) {
	tests := []struct {
		in   v1.Platform
		want v1.Platform
		err  string
	}{
		{in: plat("amd64", "", "linux"), want: plat("amd64", "", "linux")},
		{in: plat("arm64", "", "linux"), want: plat("arm64", "v8", "linux")},
		{in: plat("arm", "v7", "linux"), want: plat("arm", "v7", "linux")},
		{in: plat("", "", "linux"), err: "the image config has no architecture"},
		{in: plat("amd64", "", ""), err: "the image config has no os"},
		{in: plat("sparc", "", "linux"), err: `unknown architecture "sparc"`},
		{in: plat("arm", "", "linux"), err: `unknown variant "" of architecture "arm"`},
		{in: plat("arm64", "v9", "linux"), err: `unknown variant "v9" of architecture "arm64"`},
	}
	for _, tt := range tests {
		t.Run(tt.in.Architecture+"/"+tt.in.Variant, func(t *testing.T) {
			got, err := CheckPlatform(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !got.Equals(tt.want) {
				t.Errorf("CheckPlatform(%v) = %v, %v, want %v", tt.in, got, err, tt.want)
			}
		})
	}
	// Every platform ResolvePlatform gives for a Nix system passes.
	for sys, p := range nixSystems {
		if p.OS != "linux" {
			continue
		}
		if _, err := CheckPlatform(p); err != nil {
			t.Errorf("%s: %v", sys, err)
		}
	}
}

// plat is an OCI platform of architecture, variant and OS.
func plat(arch, variant, os string) v1.Platform {
	return v1.Platform{Architecture: arch, Variant: variant, OS: os}
}

package image

import (
	"strings"
	"testing"
)

func TestCheckPlatform(t *testing.T) {
	tests := []struct {
		in   Platform
		want Platform
		err  string
	}{
		{in: Platform{"amd64", "", "linux"}, want: Platform{"amd64", "", "linux"}},
		{in: Platform{"arm64", "", "linux"}, want: Platform{"arm64", "v8", "linux"}},
		{in: Platform{"arm", "v7", "linux"}, want: Platform{"arm", "v7", "linux"}},
		{in: Platform{"", "", "linux"}, err: "the image config has no architecture"},
		{in: Platform{"amd64", "", ""}, err: "the image config has no os"},
		{in: Platform{"sparc", "", "linux"}, err: `unknown architecture "sparc"`},
		{in: Platform{"arm", "", "linux"}, err: `unknown variant "" of architecture "arm"`},
		{in: Platform{"arm64", "v9", "linux"}, err: `unknown variant "v9" of architecture "arm64"`},
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
			if err != nil || got != tt.want {
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

package image

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/registration"
)

func TestWithoutReferences(t *testing.T) {
	const (
		hello = "/nix/store/00000000000000000000000000000001-hello"
		conf  = "/nix/store/00000000000000000000000000000002-app.conf"
		refs  = "/nix/store/00000000000000000000000000000003-nixlayer-references"
	)
	g, err := registration.NewGraph("", []registration.PathInfo{
		{Path: hello}, {Path: conf}, {Path: refs, References: []string{hello, conf}},
	})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := registration.NewGraph("", []registration.PathInfo{{Path: refs}, {Path: hello, References: []string{refs}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		g     *registration.Graph
		refs  string
		paths []string
		err   string
	}{
		{name: "left out, its references kept", g: g, refs: refs, paths: []string{hello, conf}},
		{name: "none", g: g, paths: []string{hello, conf, refs}},
		{name: "not in the graph", g: g, refs: "/nix/store/00000000000000000000000000000004-other", err: "is not in the closure graph"},
		{name: "referenced", g: bad, refs: refs, err: "store path " + hello + " references " + refs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withoutReferences(tt.g, tt.refs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, p := range got.Paths() {
				paths = append(paths, p.Path)
			}
			if !reflect.DeepEqual(paths, tt.paths) {
				t.Errorf("paths %q, want %q", paths, tt.paths)
			}
		})
	}
}

package sbom

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// drvNameCases are the edge cases of builtins.parseDrvName (Nix's
// DrvName constructor in src/libstore/names.cc).
var drvNameCases = []struct{ in, name, version string }{
	{"hello-2.12", "hello", "2.12"},
	{"apache-httpd-2.0.48", "apache-httpd", "2.0.48"},
	{"foo-bar", "foo-bar", ""},
	{"hello", "hello", ""},
	{"", "", ""},
	{"foo-", "foo-", ""},
	{"-", "-", ""},
	{"-1.0", "", "1.0"},
	{"foo--1", "foo", "-1"},
	{"foo-_bar", "foo", "_bar"},
	{"foo-.1", "foo", ".1"},
	{"foo-+x", "foo", "+x"},
	{"openssl-3.0.13-bin", "openssl", "3.0.13-bin"},
	{"glibc-2.38-44", "glibc", "2.38-44"},
	{"python3.11-requests-2.31.0", "python3.11-requests", "2.31.0"},
	{"nix-2.8.0pre-unstable", "nix", "2.8.0pre-unstable"},
	{"busybox-static-x86_64-unknown-linux-musl-1.36.1", "busybox-static-x86_64-unknown-linux-musl", "1.36.1"},
	{"source", "source", ""},
	{"hello-2.12.drv", "hello", "2.12.drv"},
	{"foo-Bar-1", "foo-Bar", "1"},
	{"a-b-c-d-9", "a-b-c-d", "9"},
	{"x-y=1", "x-y=1", ""},
	{"x-=1", "x", "=1"},
	{"x-?1", "x", "?1"},
}

func TestParseDrvName(t *testing.T) {
	for _, c := range drvNameCases {
		t.Run(c.in, func(t *testing.T) {
			name, version := ParseDrvName(c.in)
			if name != c.name || version != c.version {
				t.Errorf("ParseDrvName(%q) = (%q, %q), want (%q, %q)", c.in, name, version, c.name, c.version)
			}
		})
	}
}

// TestParseDrvNameMatchesNix checks every case against the installed Nix's
// builtins.parseDrvName, in one evaluation.
func TestParseDrvNameMatchesNix(t *testing.T) {
	nix := testutil.RequireTool(t, "nix-instantiate")
	var expr strings.Builder
	expr.WriteString("map (s: let p = builtins.parseDrvName s; in p.name + \"|\" + p.version) [")
	for _, c := range drvNameCases {
		fmt.Fprintf(&expr, " %q", c.in)
	}
	expr.WriteString(" ]")
	out, err := exec.Command(nix, "--eval", "--strict", "--json", "-E", expr.String()).Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v", err)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("reading nix-instantiate's output %q: %v", out, err)
	}
	if len(got) != len(drvNameCases) {
		t.Fatalf("nix-instantiate returned %d results for %d cases", len(got), len(drvNameCases))
	}
	for i, c := range drvNameCases {
		name, version := ParseDrvName(c.in)
		if want := name + "|" + version; got[i] != want {
			t.Errorf("%q: Nix says %q, ParseDrvName says %q", c.in, got[i], want)
		}
	}
}

package sbom

import (
	"strings"
	"testing"
)

// FuzzParseDrvName checks that the split loses nothing and that the
// version starts where Nix's rule says.
func FuzzParseDrvName(f *testing.F) {
	for _, c := range drvNameCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, version := ParseDrvName(s)
		if version == "" && name != s {
			t.Fatalf("ParseDrvName(%q) = (%q, %q): no version, so the name should be the whole", s, name, version)
		}
		if version != "" {
			if name+"-"+version != s || isASCIILetter(version[0]) || !dashesFollowedByLetters(name) {
				t.Fatalf("ParseDrvName(%q) = (%q, %q)", s, name, version)
			}
		}
	})
}

// dashesFollowedByLetters reports whether every dash of s is followed by a
// letter or ends s.
func dashesFollowedByLetters(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' && !isASCIILetter(s[i+1]) {
			return false
		}
	}
	return true
}

// FuzzCheckLicense checks that an accepted expression is accepted again
// with its spacing changed, and that nothing panics.
func FuzzCheckLicense(f *testing.F) {
	for _, s := range []string{"MIT", "(MIT OR Apache-2.0) AND BSD-3-Clause", "GPL-2.0+ WITH Classpath-exception-2.0", "DocumentRef-a:LicenseRef-b", "MIT OR", "(("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckLicense(s) != nil {
			return
		}
		spaced := strings.Join(tokenizeLicense(s), "  ")
		if err := CheckLicense(spaced); err != nil {
			t.Fatalf("%q is accepted but %q is not: %v", s, spaced, err)
		}
	})
}

package tests

import (
	"archive/tar"
	"testing"
)

// TestKeepContentsDirlinks: buildImage copies contents as dockerTools
// does with rsync: without keepContentsDirlinks a content's symlink to a
// directory (lib -> usr/lib) is copied as that directory, and another
// content's real lib/ merges into it; with keepContentsDirlinks = true the
// symlink stays and the other content's lib/ goes through it, into
// usr/lib. Sandbox on; with and without a root script.
func TestKeepContentsDirlinks(t *testing.T) {
	lets := `let
	  linked = testPkgs.run "linked" "mkdir -p $out/usr/lib; echo a > $out/usr/lib/liba.so; ln -s usr/lib $out/lib" { };
	  real = testPkgs.run "real" "mkdir -p $out/lib; echo b > $out/lib/libb.so" { };
	in `
	outs := nixBuildAll(t, []string{
		"(" + lets + `nl.buildImage { name = "dirlinks"; tag = "v1"; copyToRoot = [ linked real ]; })`,
		"(" + lets + `nl.buildImage { name = "dirlinks"; tag = "v1"; copyToRoot = [ linked real ]; keepContentsDirlinks = false; })`,
		"(" + lets + `nl.buildImage { name = "dirlinks"; tag = "v1"; copyToRoot = [ linked real ]; keepContentsDirlinks = true; })`,
		"(" + lets + `nl.buildImageWithNixDb { name = "dirlinks"; tag = "v1"; copyToRoot = [ linked real ]; keepContentsDirlinks = true; })`,
		"(" + lets + `nl.buildImage { name = "dirlinks"; tag = "v1"; copyToRoot = [ linked real ]; keepContentsDirlinks = true;
		    shell = "${testPkgs.bbBin}/bin/sh"; runAsRoot = "cat /lib/libb.so > /seen"; })`,
	})
	for i, c := range []struct {
		name string
		keep bool
	}{{"default", false}, {"false", false}, {"true", true}, {"true, with the Nix database", true}, {"true, runAsRoot", true}} {
		t.Run(c.name, func(t *testing.T) {
			b := readImage(t, outs[i])
			lib := b.headers["lib"]
			if lib == nil {
				t.Fatal("/lib missing")
			}
			want := []string{"usr/lib/liba.so"}
			if c.keep {
				if lib.Typeflag != tar.TypeSymlink || lib.Linkname != "usr/lib" {
					t.Errorf("/lib is %c -> %q, want the symlink to usr/lib kept", lib.Typeflag, lib.Linkname)
				}
				want = append(want, "usr/lib/libb.so")
				if b.headers["lib/libb.so"] != nil {
					t.Error("/lib/libb.so is an entry below the kept symlink")
				}
			} else {
				if lib.Typeflag != tar.TypeDir {
					t.Errorf("/lib is %c, want a directory (the symlink copied as its directory)", lib.Typeflag)
				}
				want = append(want, "lib/liba.so", "lib/libb.so")
				if b.headers["usr/lib/libb.so"] != nil {
					t.Error("/usr/lib/libb.so: the other content's lib/ went through the symlink")
				}
			}
			if i == 4 {
				want = append(want, "seen")
			}
			for _, n := range want {
				if h := b.headers[n]; h == nil || h.Typeflag != tar.TypeReg {
					t.Errorf("/%s missing or not a file: %v", n, h)
				}
			}
		})
	}
}

package tests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestScriptReferences: of the store paths extraCommands, runAsRoot and
// fakeRootCommands name, an image holds those that what the scripts leave
// refers to (a file's content, a symlink's target), with their closures,
// and not those the scripts only ran, as dockerTools, whose layers are
// derivation outputs that Nix scans. Every builder, sandbox on.
func TestScriptReferences(t *testing.T) {
	lets := `let
	  sh = "${testPkgs.bbBin}/bin/sh";
	  ran = testPkgs.run "ran-only" "mkdir -p $out/bin; printf '#!${testPkgs.bbBin}/bin/sh\necho made\n' > $out/bin/ran; chmod 555 $out/bin/ran" { };
	  script = ''
	    ${ran}/bin/ran > ran.out
	    echo ${testPkgs.big}/share/big/numbers > written
	    ln -s ${testPkgs.hello}/bin/hello linked
	  '';
	in `
	exprs := []string{
		"(" + lets + `nl.buildLayeredImage { name = "refs"; tag = "v1"; shell = sh; extraCommands = script; })`,
		"(" + lets + `nl.buildLayeredImage { name = "refs"; tag = "v1"; shell = sh; fakeRootCommands = script; })`,
		"(" + lets + `nl.buildImage { name = "refs"; tag = "v1"; shell = sh; runAsRoot = script; })`,
		"(" + lets + `nl.buildImage { name = "refs"; tag = "v1"; shell = sh; extraCommands = script; })`,
		"(" + lets + `nl.streamLayeredImage { name = "refs"; tag = "v1"; shell = sh; fakeRootCommands = script; })`,
		"(" + lets + `nl.streamLayeredImage { name = "refs"; tag = "v1"; shell = sh; enableFakechroot = true; fakeRootCommands = script; })`,
		"(" + lets + `ran)`, "testPkgs.big", "testPkgs.hello", "testPkgs.bbBin",
	}
	names := []string{"layered extraCommands", "layered fakeRootCommands", "buildImage runAsRoot", "buildImage extraCommands", "stream fakeRootCommands", "stream fakechroot"}
	outs := nixBuildAll(t, exprs)
	ran, big, hello, bbBin := outs[6], outs[7], outs[8], outs[9]
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			p := outs[i]
			if i >= 4 {
				p = filepath.Join(t.TempDir(), "stream.tar")
				testutil.Run(t, "", nil, outs[i], "-o", p)
			}
			b := readImage(t, p)
			for _, want := range []string{big, hello, bbBin} {
				b.has(t, want)
			}
			if b.storePaths()[filepath.Base(ran)] {
				t.Errorf("the image holds %s, which the script only ran", ran)
			}
			for sp := range b.storePaths() {
				if strings.HasSuffix(sp, "-nixlayer-references") || strings.HasSuffix(sp, "-nixlayer-script-references") {
					t.Errorf("the image holds the references helper %s", sp)
				}
			}
		})
	}
}

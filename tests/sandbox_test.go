package tests

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestSandboxIsOn guards testutil.NixConfig: the end-to-end builds run in
// the Nix sandbox, as users' builds do, so that none of them can lean on a
// file of the host. A derivation made new for each run (a nonce in its
// environment) records what its builder sees; an image built the same way
// shows that nixlayer finds its structured attrs there.
func TestSandboxIsOn(t *testing.T) {
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	n := hex.EncodeToString(nonce)
	root := testutil.RepoRoot(t)
	out := testutil.NixBuild(t, fmt.Sprintf(`testPkgs.run "sandbox-check" ''
	  {
	    echo "top=$NIX_BUILD_TOP"
	    echo "pwd=$(pwd)"
	    for p in /usr/bin /bin/sh %s; do if [ -e "$p" ]; then echo "sees=$p"; fi; done
	  } > $out
	'' { nonce = %q; }`, root, n))
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := string(data)
	for _, want := range []string{"top=/build\n", "pwd=/build\n"} {
		if !strings.Contains(seen, want) {
			t.Errorf("the builder saw\n%s\nwant %q: is the sandbox off (NixConfig %q)?", seen, want, testutil.NixConfig)
		}
	}
	if strings.Contains(seen, "sees=") {
		t.Errorf("the builder saw host paths:\n%s\nthe sandbox must hide them", seen)
	}

	// nixlayer as the builder, with structured attrs, in a build that cannot
	// have been done before.
	img := testutil.NixBuild(t, fmt.Sprintf(`nl.buildImage { name = "sandboxed-%s"; contents = [ testPkgs.hello ]; }`, n))
	if layers := layerDigestsOf(t, img); len(layers) != 1 {
		t.Errorf("the image built in the sandbox has %d layers, want 1", len(layers))
	}
}

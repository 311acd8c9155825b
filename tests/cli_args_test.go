package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/pull"
)

// TestFlagsAnywhere runs each command line the README shows with its flags
// after the positional arguments, as written there (`nixlayer pin IMAGE
// --json`, `nixlayer export IMAGE -o rootfs.tar`, …), and with them first:
// both must work and print, or write, the same.
func TestFlagsAnywhere(t *testing.T) {
	exe := testutil.Exe(t)
	img := testutil.NixBuild(t, `nl.buildImage { name = "anywhere"; tag = "v1"; contents = [ testPkgs.hello ]; config.Cmd = [ "/bin/hello" ]; }`)
	dir := t.TempDir()
	// same runs both command lines and returns what the first printed.
	same := func(t *testing.T, last, first []string) string {
		t.Helper()
		a := testutil.Run(t, "", nil, exe, last...)
		if b := testutil.Run(t, "", nil, exe, first...); a != b {
			t.Errorf("nixlayer %s printed\n%s\nnixlayer %s printed\n%s", strings.Join(last, " "), a, strings.Join(first, " "), b)
		}
		return a
	}
	sameFile := func(t *testing.T, a, b string) []byte {
		t.Helper()
		da, err := os.ReadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		db, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(da, db) {
			t.Errorf("%s and %s differ", a, b)
		}
		return da
	}

	t.Run("inspect IMAGE --json", func(t *testing.T) {
		out := same(t, []string{"inspect", img, "--json"}, []string{"inspect", "--json", img})
		if !json.Valid([]byte(out)) {
			t.Errorf("inspect --json printed no JSON:\n%s", out)
		}
		if table := testutil.Run(t, "", nil, exe, "inspect", img); table == out || !strings.Contains(table, "hello") {
			t.Errorf("inspect without --json printed\n%s", table)
		}
	})
	t.Run("export IMAGE -o rootfs.tar", func(t *testing.T) {
		a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
		testutil.Run(t, "", nil, exe, "export", img, "-o", a)
		testutil.Run(t, "", nil, exe, "export", "--out", b, img)
		if data := sameFile(t, a, b); !bytes.Contains(data, []byte("bin/hello")) {
			t.Errorf("the exported rootfs has no bin/hello")
		}
	})

	reg := registrytest.Start(t)
	dest := reg.Host + "/anywhere:v1"
	var ref string
	pushErr := errors.New("push SOURCE DEST --quiet did not run")
	t.Run("push SOURCE DEST --quiet", func(t *testing.T) {
		out, errOut, err := testutil.RunErr("", nil, exe, "push", img, dest, "--quiet")
		if err != nil || errOut != "" {
			pushErr = fmt.Errorf("push with --quiet last: %v\n%s", err, errOut)
			t.Fatal(pushErr)
		}
		pushErr = nil
		ref = strings.TrimSpace(out)
		if again := strings.TrimSpace(testutil.Run(t, "", nil, exe, "push", "--quiet", img, dest)); again != ref || !strings.HasPrefix(ref, reg.Host+"/anywhere@sha256:") {
			t.Errorf("push printed %q, then %q", ref, again)
		}
	})
	t.Run("pin IMAGE --json", func(t *testing.T) {
		out := same(t, []string{"pin", dest, "--json", "--format", "oci-layout"}, []string{"pin", "--json", "--format", "oci-layout", dest})
		var p pull.Pinned
		if err := json.Unmarshal([]byte(out), &p); err != nil || !strings.HasSuffix(ref, "@"+p.ImageDigest) {
			t.Errorf("pin printed %q (%v), want the digest of %s", out, err, ref)
		}
		if nixAttrs := same(t, []string{"pin", dest, "-q"}, []string{"pin", "-q", dest}); !strings.Contains(nixAttrs, `imageDigest = "`+p.ImageDigest+`";`) {
			t.Errorf("pin printed\n%s", nixAttrs)
		}
	})
	t.Run("pull NAME@DIGEST --out FILE", func(t *testing.T) {
		if pushErr != nil {
			t.Fatalf("no image to pull: %v", pushErr)
		}
		a, b := filepath.Join(dir, "pulled-a.tar"), filepath.Join(dir, "pulled-b.tar")
		testutil.Run(t, "", nil, exe, "pull", ref, "--out", a, "--quiet", "--final-tag", "v1")
		testutil.Run(t, "", nil, exe, "pull", "--out", b, "--quiet", "--final-tag", "v1", ref)
		sameFile(t, a, b)
	})
	t.Run("-- ends the flags", func(t *testing.T) {
		// After --, "--json" is an argument: inspect gets two and says so.
		_, errOut, err := testutil.RunErr("", nil, exe, "inspect", img, "--", "--json")
		if err == nil || !strings.Contains(errOut, "usage: nixlayer inspect ARCHIVE|LAYOUT (got 2 arguments)") {
			t.Errorf("inspect IMAGE -- --json: %v\n%s", err, errOut)
		}
	})
}

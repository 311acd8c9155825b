package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestFakeNssOverride: fakeNss.override appends extraPasswdLines and
// extraGroupLines to /etc/passwd and /etc/group, as nixpkgs' fakeNss; an
// override of an override (a function of the old arguments) keeps the
// earlier ones; an unknown argument or a line that is not a string is an
// error naming it.
func TestFakeNssOverride(t *testing.T) {
	const rootPasswd = "root:x:0:0:root user:/var/empty:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/sh\n"
	const rootGroup = "root:x:0:\nnobody:x:65534:\n"
	alice := `nl.fakeNss.override { extraPasswdLines = [ "alice:x:1000:100::/home/alice:/bin/sh" ]; extraGroupLines = [ "users:x:100:" "wheel:x:10:alice" ]; }`
	outs := nixBuildAll(t, []string{
		`nl.fakeNss`,
		`(` + alice + `)`,
		`((` + alice + `).override (old: { extraGroupLines = old.extraGroupLines ++ [ "bob:x:1001:" ]; }))`,
	})
	cases := []struct{ passwd, group string }{
		{rootPasswd, rootGroup},
		{rootPasswd + "alice:x:1000:100::/home/alice:/bin/sh\n", rootGroup + "users:x:100:\nwheel:x:10:alice\n"},
		{rootPasswd + "alice:x:1000:100::/home/alice:/bin/sh\n", rootGroup + "users:x:100:\nwheel:x:10:alice\nbob:x:1001:\n"},
	}
	for i, c := range cases {
		for file, want := range map[string]string{"etc/passwd": c.passwd, "etc/group": c.group} {
			got, err := os.ReadFile(filepath.Join(outs[i], file))
			if err != nil || string(got) != want {
				t.Errorf("case %d: /%s = %q (%v), want %q", i, file, got, err, want)
			}
		}
	}
	for _, c := range []struct{ expr, want string }{
		{`nl.fakeNss.override { extraUsers = [ ]; }`, "nixlayer.fakeNss.override: unknown argument extraUsers"},
		{`nl.fakeNss.override { extraPasswdLines = "alice:x:1000:100::/:/bin/sh"; }`, "nixlayer.fakeNss: extraPasswdLines must be a list of strings"},
	} {
		_, stderr, err := testutil.NixBuildErr(t, c.expr)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: %v\n%s\nwant an error containing %q", c.expr, err, stderr, c.want)
		}
	}
}

// TestBuildArgsPassthru: every builder's result has dockerTools'
// buildArgs passthru, the arguments as given (no defaults added).
func TestBuildArgsPassthru(t *testing.T) {
	expr := `let
    args = { name = "Pass"; tag = "v1"; contents = [ testPkgs.hello ]; config.Cmd = [ "/bin/hello" ]; };
    names = img: builtins.attrNames img.buildArgs;
    check = img: { names = names img; name = img.buildArgs.name; tag = img.buildArgs.tag; cmd = img.buildArgs.config.Cmd; imageName = img.imageName; };
  in builtins.mapAttrs (_: check) {
    buildImage = nl.buildImage args;
    buildLayeredImage = nl.buildLayeredImage args;
    streamLayeredImage = nl.streamLayeredImage args;
    overridden = (nl.buildImage args).override { tag = "v2"; };
  }`
	file := testutil.NixExprFile(t, expr)
	got := strings.TrimSpace(testutil.Run(t, "", testutil.NixEnv(), "nix-instantiate", "--eval", "--strict", "--json", file))
	one := func(tag string) string {
		return `{"cmd":["/bin/hello"],"imageName":"pass","name":"Pass","names":["config","contents","name","tag"],"tag":"` + tag + `"}`
	}
	want := `{"buildImage":` + one("v1") + `,"buildLayeredImage":` + one("v1") + `,"overridden":` + one("v2") + `,"streamLayeredImage":` + one("v1") + `}`
	if got != want {
		t.Errorf("buildArgs passthrus:\n got %s\nwant %s", got, want)
	}
}

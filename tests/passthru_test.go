package tests

import (
	"archive/tar"
	"encoding/json"
	"io"
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

// TestImagePassthrus: the passthrus users script against, as dockerTools
// has them. buildImage's `layer` is its one layer as a tar (the contents
// copied, the closure; buildImageWithNixDb's the one below the database);
// a stream's `conf` is a derivation, a JSON file describing the image
// (config, layers), and `streamScript` the script, which writes the image;
// imageName and imageTag are on every result, and name the reference the
// image loads as.
func TestImagePassthrus(t *testing.T) {
	args := `{ name = "Pass"; tag = "v1"; contents = [ testPkgs.hello ]; config.Cmd = [ "/bin/hello" ]; }`
	outs := nixBuildAll(t, []string{
		`(nl.buildImage ` + args + `).layer`,
		`(nl.buildImageWithNixDb ` + args + `).layer`,
		`(nl.streamLayeredImage ` + args + `).conf`,
		`(nl.streamLayeredImage ` + args + `).streamScript`,
		`(nl.streamLayeredImage ` + args + `)`,
		`testPkgs.hello`,
	})
	layer, dbLayer, conf, script, stream, hello := outs[0], outs[1], outs[2], outs[3], outs[4], outs[5]
	for _, l := range []string{layer, dbLayer} {
		names := tarNames(t, l)
		for _, want := range []string{"bin/hello", strings.TrimPrefix(hello, "/") + "/bin/hello"} {
			if !names[want] {
				t.Errorf("layer %s lacks /%s", l, want)
			}
		}
		if names["nix/var/nix/db/db.sqlite"] {
			t.Errorf("layer %s holds the Nix database (its own layer, above)", l)
		}
	}
	var c struct {
		Config struct{ Config struct{ Cmd []string } } `json:"config"`
		Layers []struct{ DiffID string }               `json:"layers"`
	}
	data, err := os.ReadFile(conf)
	if err != nil || json.Unmarshal(data, &c) != nil || len(c.Layers) == 0 || len(c.Config.Config.Cmd) != 1 || c.Config.Config.Cmd[0] != "/bin/hello" {
		t.Errorf("conf %s: %v\n%s", conf, err, data)
	}
	if script != stream {
		t.Errorf("streamScript %s, want the stream script %s", script, stream)
	}
	archive := filepath.Join(t.TempDir(), "stream.tar")
	testutil.Run(t, "", nil, "sh", "-c", `"$0" > "$1"`, script, archive)
	if b := readImage(t, archive); len(b.tags) != 1 || b.tags[0] != "pass:v1" {
		t.Errorf("the streamScript's image is tagged %v, want pass:v1", b.tags)
	}

	expr := `let
    args = ` + args + `;
    noTag = builtins.removeAttrs args [ "tag" ];
    ref = img: "${img.imageName}:${img.imageTag}";
  in {
    buildImage = ref (nl.buildImage args);
    buildImageWithNixDb = ref (nl.buildImageWithNixDb args);
    buildLayeredImage = ref (nl.buildLayeredImage args);
    buildLayeredImageWithNixDb = ref (nl.buildLayeredImageWithNixDb args);
    streamLayeredImage = ref (nl.streamLayeredImage args);
    writeImageStream = ref (nl.writeImageStream { name = "pass"; stream = nl.streamLayeredImage args; });
    noTag = (nl.buildImage noTag).imageTag == builtins.substring 0 32 (baseNameOf (nl.buildImage noTag).outPath);
  }`
	file := testutil.NixExprFile(t, expr)
	got := strings.TrimSpace(testutil.Run(t, "", testutil.NixEnv(), "nix-instantiate", "--eval", "--strict", "--json", file))
	want := `{"buildImage":"pass:v1","buildImageWithNixDb":"pass:v1","buildLayeredImage":"pass:v1","buildLayeredImageWithNixDb":"pass:v1","noTag":true,"streamLayeredImage":"pass:v1","writeImageStream":"pass:v1"}`
	if got != want {
		t.Errorf("imageName:imageTag\n got %s\nwant %s", got, want)
	}
}

// tarNames lists the entry names of the tar file p, without a leading "./".
func tarNames(t *testing.T, p string) map[string]bool {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		names[strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = true
	}
}

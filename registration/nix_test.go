package registration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// nixBuildAttr builds attribute attr of testdata/graphs.nix with real Nix
// and returns its output path.
func nixBuildAttr(t *testing.T, attr string) string {
	t.Helper()
	testutil.RequireTool(t, "nix-build")
	root := testutil.RepoRoot(t)
	expr := "import " + filepath.Join(root, "registration", "testdata", "graphs.nix") +
		" { pkgs = import " + filepath.Join(root, "tests", "nix", "pkgs.nix") + " {}; }"
	out := testutil.Run(t, t.TempDir(), testutil.NixEnv(), "nix-build", "--no-out-link", "-E", expr, "-A", attr)
	return strings.TrimSpace(out)
}

// nixQuery runs `nix-store -q <flag> <path>` and returns its output lines.
func nixQuery(t *testing.T, flag, path string) []string {
	t.Helper()
	out := testutil.Run(t, "", testutil.NixEnv(), "nix-store", "-q", flag, path)
	return strings.Fields(out)
}

// assertMatchesStore checks every path of g against what the Nix store
// says: references always, narHash and narSize when withHashes.
func assertMatchesStore(t *testing.T, g *Graph, withHashes bool) {
	t.Helper()
	if g.Len() != 6 {
		t.Errorf("closure has %d paths, want 6", g.Len())
	}
	for _, p := range g.Paths() {
		want := nixQuery(t, "--references", p.Path)
		if !slices.Equal(p.References, want) {
			t.Errorf("references of %s:\n got %v\nwant %v (nix-store -q --references)", p.Path, p.References, want)
		}
		if !withHashes {
			continue
		}
		wantHash, err := NarHashBase16(nixQuery(t, "--hash", p.Path)[0])
		if err != nil {
			t.Fatal(err)
		}
		if got, err := NarHashBase16(p.NarHash); err != nil || got != wantHash {
			t.Errorf("narHash of %s = %s (%v), nix-store says %s", p.Path, got, err, wantHash)
		}
		if want := nixQuery(t, "--size", p.Path)[0]; strconv.FormatUint(p.NarSize, 10) != want {
			t.Errorf("narSize of %s = %d, nix-store says %s", p.Path, p.NarSize, want)
		}
	}
}

func TestRealNixPlain(t *testing.T) {
	file := nixBuildAttr(t, "plain")
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ParseExportReferences(f, file, "")
	if err != nil {
		t.Fatal(err)
	}
	assertMatchesStore(t, g, false)
	g2, err := ReadFile(file, "")
	if err != nil || !reflect.DeepEqual(refsOf(g2), refsOf(g)) {
		t.Errorf("ReadFile gave another graph: %v", err)
	}
}

// realStructured builds the structured-attrs closure with Nix and returns
// the .attrs.json file and the graph parsed from its "closure" list.
func realStructured(t *testing.T) (string, *Graph) {
	t.Helper()
	file := nixBuildAttr(t, "structured")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var attrs struct {
		Closure json.RawMessage `json:"closure"`
	}
	if err := json.Unmarshal(data, &attrs); err != nil {
		t.Fatal(err)
	}
	g, err := ParseStructured(attrs.Closure, file+": closure", "")
	if err != nil {
		t.Fatal(err)
	}
	return file, g
}

func TestRealNixStructured(t *testing.T) {
	_, g := realStructured(t)
	assertMatchesStore(t, g, true)
}

// TestRealClosureInfo runs the jq commands of nixpkgs' closure-info.nix on
// the .attrs.json Nix wrote and compares their output with WriteClosureInfo
// byte for byte; then `nix-store --load-db` reads our registration into an
// empty store whose --dump-db must equal the real store's.
func TestRealClosureInfo(t *testing.T) {
	testutil.RequireTool(t, "jq")
	attrs, g := realStructured(t)
	want := t.TempDir()
	for name, filter := range map[string]string{
		"total-nar-size": `.closure | map(.narSize) | add`,
		"registration":   `.closure | map([.path, .narHash, .narSize, "", (.references | length)] + .references) | add | map("\(.)\n") | add`,
		"store-paths":    `.closure[].path`,
	} {
		out := testutil.Run(t, "", nil, "jq", "-r", filter, attrs)
		if name == "registration" { // closure-info.nix pipes it through `head -n -1`
			out = strings.TrimSuffix(out, "\n")
		}
		if err := os.WriteFile(filepath.Join(want, name), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := t.TempDir()
	if err := WriteClosureInfo(got, g); err != nil {
		t.Fatal(err)
	}
	assertSameFiles(t, want, got)

	root := t.TempDir()
	load := exec.Command("nix-store", "--store", "local?root="+root, "--load-db")
	load.Env = append(os.Environ(), testutil.NixEnv()...)
	reg, err := os.Open(filepath.Join(got, "registration"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	load.Stdin = reg
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("nix-store --load-db: %v\n%s", err, out)
	}
	args := []string{"--dump-db"}
	for _, p := range g.Paths() {
		args = append(args, p.Path)
	}
	loaded := testutil.Run(t, "", testutil.NixEnv(), "nix-store", append([]string{"--store", "local?root=" + root}, args...)...)
	gl, err := ParseRegistration(strings.NewReader(loaded), "dump of the loaded store", "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(refsOf(gl), refsOf(g)) {
		t.Errorf("store loaded from our registration has graph %v, want %v", refsOf(gl), refsOf(g))
	}
	for _, p := range gl.Paths() {
		orig, _ := g.Lookup(p.Path)
		h1, _ := NarHashBase16(p.NarHash)
		h2, _ := NarHashBase16(orig.NarHash)
		if h1 != h2 || p.NarSize != orig.NarSize {
			t.Errorf("%s loaded as %s %d, want %s %d", p.Path, h1, p.NarSize, h2, orig.NarSize)
		}
	}
}

package tests

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/index"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/pull"
	"github.com/nixlayer/nixlayer/spec"
)

// The Go struct each Nix function's "nixlayer" attribute decodes into: the
// one place the test names them (retarget a row when a struct moves).
var (
	imageSpec = spec.Spec{}
	layerSpec = spec.LayerSpec{}
	pullSpec  = pull.Spec{}
	indexSpec = index.Spec{}
)

// Arguments the image builders' patterns list that are no field of the image
// spec: default.nix reads them and passes something else, or nothing.
var imageNixOnly = []string{
	"copyToRoot",           // its store paths go into contents, with those of contents
	"keepContentsDirlinks", // only false is accepted; nixlayer never sees it
	"debug",                // accepted, does nothing
	"passthru",             // attributes of the result
	"contentAddressed",     // attributes of the derivation (nix/args.nix caAttrs), not of the image
	"meta",                 // attributes of the result
}

// Spec fields default.nix sets itself: no builder takes them as arguments.
var imageNixSet = []string{
	"function",   // the builder's name, for errors
	"layered",    // the builder's kind: the default layering, the root script it takes
	"system",     // the import's system
	"stream",     // streamLayeredImage
	"references", // the derivation holding the store paths arguments name
	"sbomMeta",   // the contents' meta, from nix/sbom.nix
	"imageSet",   // buildImageSet (nix/imageset.nix): the set's members
}

// The arguments of the layered builders only, and of buildImage only: each
// a Spec field the other builders do not take.
var (
	layeredOnly = []string{"maxLayers", "layering", "layeringPipeline", "fakeRootCommands", "enableFakechroot"}
	singleOnly  = []string{"runAsRoot"}
)

// TestNixArgsMatchSpecs: the names each Nix function's pattern lists
// (builtins.functionArgs, what nix repl and editors show, and what the
// unknown-argument check of nix/args.nix accepts) are the JSON fields of
// the Go struct its derivation's spec decodes into, but for the explicit
// allowlists above. An argument added on one side only fails here, not at
// a user's build (Go decodes specs strictly).
func TestNixArgsMatchSpecs(t *testing.T) {
	args := nixFunctionArgs(t)
	for _, c := range []struct {
		fn      string
		spec    any
		nixOnly []string // arguments that are no field of spec
		nixSet  []string // fields of spec that are no argument
	}{
		{"buildImage", imageSpec, imageNixOnly, concat(imageNixSet, layeredOnly)},
		{"buildImageWithNixDb", imageSpec, imageNixOnly, concat(imageNixSet, layeredOnly)},
		{"buildLayeredImage", imageSpec, imageNixOnly, concat(imageNixSet, singleOnly)},
		{"buildLayeredImageWithNixDb", imageSpec, imageNixOnly, concat(imageNixSet, singleOnly)},
		{"streamLayeredImage", imageSpec, imageNixOnly, concat(imageNixSet, singleOnly)},
		// name and contentAddressed are the derivation's; function and system are set by layer.nix.
		{"buildLayer", layerSpec, []string{"name", "contentAddressed"}, []string{"function", "system"}},
		// sha256 and hash are the fixed output's hash, name the derivation's;
		// system is set by pull.nix.
		{"pullImage", pullSpec, []string{"sha256", "hash", "name"}, []string{"system"}},
		{"buildImageIndex", indexSpec, nil, nil},
	} {
		t.Run(c.fn, func(t *testing.T) {
			got, ok := args[c.fn]
			if !ok {
				t.Fatalf("nix/default.nix has no function %s", c.fn)
			}
			want := jsonFields(reflect.TypeOf(c.spec))
			for _, n := range c.nixOnly {
				if slices.Contains(want, n) {
					t.Errorf("allowlisted %s as Nix-only, but %T has it", n, c.spec)
				}
			}
			for _, n := range c.nixSet {
				if !slices.Contains(want, n) {
					t.Errorf("allowlisted %s as a field Nix sets, but %T has no such field", n, c.spec)
				}
			}
			if missing := minus(minus(want, c.nixSet), got); len(missing) > 0 {
				t.Errorf("%T has fields %s that %s's pattern does not list: add them to the pattern (nix/) or to the allowlist here", c.spec, strings.Join(missing, ", "), c.fn)
			}
			if extra := minus(minus(got, c.nixOnly), want); len(extra) > 0 {
				t.Errorf("%s's pattern lists %s, which %T has no field for (nixlayer would refuse it): add the field or allowlist it as Nix-only here", c.fn, strings.Join(extra, ", "), c.spec)
			}
		})
	}
}

// TestNixFunctionArgs: every function of nix/default.nix that takes an
// attribute set lists its arguments in its pattern, so that
// builtins.functionArgs (nix repl, editors) shows them; those that take
// something else say why here.
func TestNixFunctionArgs(t *testing.T) {
	args := nixFunctionArgs(t)
	noPattern := map[string]string{
		"mergeImages":        "takes a list of images, as dockerTools.mergeImages",
		"copyToRegistry":     "takes an image (derivation, path or string) or { image, ... }",
		"copyToDockerDaemon": "takes an image (derivation, path or string) or { image, ... }",
		"copyToPodman":       "takes an image (derivation, path or string) or { image, ... }",
		"copyTo":             "takes an image (derivation, path or string) or { image, ... }",
	}
	for _, fn := range nixFunctions {
		got, ok := args[fn]
		switch {
		case !ok:
			t.Errorf("nix/default.nix has no function %s", fn)
		case noPattern[fn] != "" && len(got) > 0:
			t.Errorf("%s now lists %v: drop it from noPattern", fn, got)
		case noPattern[fn] == "" && len(got) == 0:
			t.Errorf("builtins.functionArgs nl.%s is empty: list its arguments in its pattern", fn)
		}
	}
	// The helpers are functors (a derivation that can be called): they
	// carry their arguments in __functionArgs, as nixpkgs'
	// lib.setFunctionArgs does.
	out := testutil.Run(t, "", testutil.NixEnv(), "nix-instantiate", "--eval", "--strict", "--json", "-E",
		nixImport(t)+` in builtins.mapAttrs (_: h: h.__functionArgs) { inherit (nl) binSh usrBinEnv caCertificates; }`)
	var helpers map[string]map[string]bool
	if err := json.Unmarshal([]byte(out), &helpers); err != nil {
		t.Fatalf("reading the helpers' __functionArgs %q: %v", out, err)
	}
	want := map[string]map[string]bool{"binSh": {"shell": false}, "usrBinEnv": {"env": false}, "caCertificates": {"cacert": false}}
	if !reflect.DeepEqual(helpers, want) {
		t.Errorf("the helpers' __functionArgs without pkgs: %v, want %v", helpers, want)
	}
}

// nixFunctions are the functions of nix/default.nix that take arguments
// (the helpers apart).
var nixFunctions = []string{
	"buildImage", "buildLayeredImage", "streamLayeredImage", "buildImageWithNixDb",
	"buildLayeredImageWithNixDb", "buildLayer", "pullImage", "pullImageFromLock", "exportImage",
	"closureInfo", "buildImageIndex", "buildImageSet", "mergeImages", "copyToRegistry", "copyToDockerDaemon", "copyToPodman", "copyTo",
	"streamNixShellImage", "buildNixShellImage",
}

// nixImport is the start of a Nix expression binding nl to nix/default.nix;
// the binary is never built, only named.
func nixImport(t *testing.T) string {
	testutil.RequireTool(t, "nix-instantiate")
	return `let nl = import ` + filepath.Join(testutil.RepoRoot(t), "nix") + ` { nixlayer = "/nonexistent"; };`
}

// nixFunctionArgs evaluates the argument names of nixFunctions, as
// builtins.functionArgs gives them; a function that nix/default.nix lacks
// is absent from the result.
func nixFunctionArgs(t *testing.T) map[string][]string {
	t.Helper()
	names, err := json.Marshal(nixFunctions)
	if err != nil {
		t.Fatal(err)
	}
	out := testutil.Run(t, "", testutil.NixEnv(), "nix-instantiate", "--eval", "--strict", "--json", "-E",
		nixImport(t)+` names = builtins.fromJSON ''`+string(names)+`'';
	in builtins.listToAttrs (map (n: { name = n; value = builtins.attrNames (builtins.functionArgs nl.${n}); })
	  (builtins.filter (n: nl ? ${n}) names))`)
	var args map[string][]string
	if err := json.Unmarshal([]byte(out), &args); err != nil {
		t.Fatalf("reading the functions' arguments %q: %v", out, err)
	}
	return args
}

// jsonFields returns the JSON names of a struct's fields, those of
// embedded structs without a tag included, sorted.
func jsonFields(typ reflect.Type) []string {
	var names []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, ok := f.Tag.Lookup("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case f.Anonymous && !ok && f.Type.Kind() == reflect.Struct:
			names = append(names, jsonFields(f.Type)...)
		case name == "-" || !f.IsExported():
		case name == "":
			names = append(names, f.Name)
		default:
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// minus returns the names of a that are not in b.
func minus(a, b []string) []string {
	var out []string
	for _, n := range a {
		if !slices.Contains(b, n) {
			out = append(out, n)
		}
	}
	return out
}

func concat(a, b []string) []string { return append(slices.Clip(a), b...) }

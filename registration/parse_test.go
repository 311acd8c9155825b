package registration

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// refsOf returns a graph as a map from store path to its references.
func refsOf(g *Graph) map[string][]string {
	m := map[string][]string{}
	for _, p := range g.Paths() {
		m[p.Path] = append([]string{}, p.References...)
	}
	return m
}

// wantFixtureRefs is the graph of the fixtures in testdata, built by Nix
// from tests/nix/pkgs.nix: app → hello, liba, libb; libb → itself.
var wantFixtureRefs = map[string][]string{
	"/nix/store/269xkzc4cra8a3pfdrpcd6c2sf9nv873-busybox":        {"/nix/store/r9zgkzc5zab416qddj283jlsvp18ydzr-busybox-static"},
	"/nix/store/ahs5xmynmva59nzxiac2pdyb3p9hnb6k-hello-1.0":      {"/nix/store/269xkzc4cra8a3pfdrpcd6c2sf9nv873-busybox"},
	"/nix/store/r8h12vn7kf6bzinq5khcn618xgyi0mmq-liba-1.0":       {"/nix/store/269xkzc4cra8a3pfdrpcd6c2sf9nv873-busybox"},
	"/nix/store/r9zgkzc5zab416qddj283jlsvp18ydzr-busybox-static": {},
	"/nix/store/s7j39mbjnp2l1hag1zjr963mpds7qr6p-app-0.1": {
		"/nix/store/ahs5xmynmva59nzxiac2pdyb3p9hnb6k-hello-1.0",
		"/nix/store/r8h12vn7kf6bzinq5khcn618xgyi0mmq-liba-1.0",
		"/nix/store/zmzbi16ryiiihy4vi4zgnra6x76aapl3-libb-2.0",
	},
	"/nix/store/zmzbi16ryiiihy4vi4zgnra6x76aapl3-libb-2.0": {
		"/nix/store/269xkzc4cra8a3pfdrpcd6c2sf9nv873-busybox",
		"/nix/store/zmzbi16ryiiihy4vi4zgnra6x76aapl3-libb-2.0",
	},
}

func TestReadFileFixtures(t *testing.T) {
	for _, tc := range []struct {
		file     string
		hashes   bool
		derivers bool
	}{
		{file: "plain.graph"},
		{file: "structured.json", hashes: true},
		{file: "registration", hashes: true},
		{file: "dump-db.registration", hashes: true, derivers: true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			g, err := ReadFile(filepath.Join("testdata", tc.file), "")
			if err != nil {
				t.Fatal(err)
			}
			if got := refsOf(g); !reflect.DeepEqual(got, wantFixtureRefs) {
				t.Errorf("graph:\n got %v\nwant %v", got, wantFixtureRefs)
			}
			app, _ := g.Lookup("/nix/store/s7j39mbjnp2l1hag1zjr963mpds7qr6p-app-0.1")
			if tc.hashes {
				h, err := NarHashBase16(app.NarHash)
				if err != nil {
					t.Fatal(err)
				}
				if want := "sha256:04ab7b35598fe0dd3c565301e1bc1952f6e656be33caed58efcefe16d9dc20e6"; h != want {
					t.Errorf("narHash of app = %s, want %s", h, want)
				}
				if app.NarSize != 440 {
					t.Errorf("narSize of app = %d, want 440", app.NarSize)
				}
			} else if app.NarHash != "" || app.NarSize != 0 {
				t.Errorf("plain format gave narHash %q narSize %d", app.NarHash, app.NarSize)
			}
			if got := app.Deriver != ""; got != tc.derivers {
				t.Errorf("deriver = %q, want one: %v", app.Deriver, tc.derivers)
			}
		})
	}
}

const (
	pA = "/nix/store/00000000000000000000000000000000-a"
	pB = "/nix/store/11111111111111111111111111111111-b"
	hA = "sha256:1ri0vkcidznfxxcfvjikprbfdxjj36yf20akaqydvq4gb4sppaq4"
)

func TestParseTextErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		registration   bool
	}{
		{name: "bad count", in: pA + "\n\nx\n", want: `"in.graph": line 3: bad reference count "x"`},
		{name: "negative count", in: pA + "\n\n-1\n", want: `line 3: bad reference count "-1"`},
		{name: "truncated refs", in: pA + "\n\n2\n" + pA + "\n", want: `after line 4: truncated record of ` + pA + `: missing reference 2 of 2`},
		{name: "truncated count", in: pA + "\n", want: `after line 1: truncated record of ` + pA + `: missing deriver line`},
		{name: "ref not in closure", in: pA + "\n\n1\n" + pB + "\n", want: `line 4: ` + pA + ` references ` + pB + `, which is not in the closure`},
		{name: "outside store", in: "/gnu/store/00000000000000000000000000000000-a\n\n0\n", want: `line 1: expected a store path: "/gnu/store/00000000000000000000000000000000-a" is not a store path directly inside /nix/store`},
		{name: "sub-path", in: pA + "/bin\n\n0\n", want: `line 1: expected a store path`},
		{name: "bad hash part", in: "/nix/store/eeee0000000000000000000000000000-a\n\n0\n", want: `line 1: expected a store path: invalid store path`},
		{name: "duplicate", in: pA + "\n\n0\n" + pA + "\n\n0\n", want: `line 4: store path ` + pA + ` appears twice (first on line 1)`},
		{name: "empty line for path", in: pA + "\n\n0\n\n", want: `line 4: expected a store path`},
		{name: "bad deriver", in: pA + "\nfoo\n0\n", want: `line 2: deriver of ` + pA},
		{name: "bad ref", in: pA + "\n\n1\nfoo\n", want: `line 4: reference of ` + pA},
		{name: "registration bad hash", registration: true, in: pA + "\nsha256:xyz\n1\n\n0\n", want: `line 2: narHash of ` + pA + `: parsing NAR hash "sha256:xyz"`},
		{name: "registration md5", registration: true, in: pA + "\nmd5:00000000000000000000000000000000\n1\n\n0\n", want: `line 2: narHash of ` + pA},
		{name: "registration bad size", registration: true, in: pA + "\n" + hA + "\n-5\n\n0\n", want: `line 3: bad narSize "-5"`},
		{name: "registration truncated", registration: true, in: pA + "\n" + hA + "\n", want: `after line 2: truncated record of ` + pA + `: missing narSize`},
		{name: "long line", in: strings.Repeat("x", maxLineLen+1), want: `"in.graph": after line 0: bufio.Scanner: token too long`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parse := ParseExportReferences
			if tc.registration {
				parse = ParseRegistration
			}
			_, err := parse(strings.NewReader(tc.in), "in.graph", "")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), `parsing closure graph "in.graph": `) {
				t.Errorf("error %q does not name the input first", err)
			}
		})
	}
}

func TestParseTextStoreDir(t *testing.T) {
	in := "/gnu/store/00000000000000000000000000000000-a\n\n1\n/gnu/store/00000000000000000000000000000000-a\n"
	g, err := ParseExportReferences(strings.NewReader(in), "x", "/gnu/store")
	if err != nil {
		t.Fatal(err)
	}
	if g.StoreDir() != "/gnu/store" || g.Len() != 1 {
		t.Errorf("store dir %s, %d paths", g.StoreDir(), g.Len())
	}
	if _, err := ParseExportReferences(strings.NewReader(in), "x", ""); err == nil {
		t.Error("a /gnu/store path was accepted in /nix/store")
	}
}

func TestParseStructuredErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{name: "not json", in: `{`, want: `want a JSON list`},
		{name: "object", in: `{"closure": []}`, want: `want a JSON list`},
		{name: "null", in: `null`, want: `got null`},
		{name: "null entry", in: `[null]`, want: `[0]: field path is missing`},
		{name: "no path", in: `[{"references": []}]`, want: `[0]: field path is missing`},
		{name: "bad path", in: `[{"path": "/tmp/x", "references": []}]`, want: `[0] (/tmp/x): field path: "/tmp/x" is not a store path`},
		{name: "no references", in: `[{"path": "` + pA + `"}]`, want: `[0] (` + pA + `): field references is missing`},
		{name: "bad narHash", in: `[{"path": "` + pA + `", "narHash": "sha256:zz", "references": []}]`, want: `[0] (` + pA + `): field narHash: parsing NAR hash "sha256:zz"`},
		{name: "float narSize", in: `[{"path": "` + pA + `", "narSize": 1.5, "references": []}]`, want: `field narSize: 1.5 is not a size in bytes`},
		{name: "negative narSize", in: `[{"path": "` + pA + `", "narSize": -1, "references": []}]`, want: `field narSize: -1 is not a size in bytes`},
		{name: "bad ref", in: `[{"path": "` + pA + `", "references": ["x"]}]`, want: `[0] (` + pA + `): references[0]: "x" is not a store path`},
		{name: "ref not in closure", in: `[{"path": "` + pA + `", "references": ["` + pA + `", "` + pB + `"]}]`, want: `[0].references[1]: ` + pA + ` references ` + pB + `, which is not in the closure`},
		{name: "duplicate", in: `[{"path": "` + pA + `", "references": []}, {"path": "` + pA + `", "references": []}]`, want: `[1]: store path ` + pA + ` appears twice (first at [0])`},
		{name: "wrong type", in: `[{"path": 5, "references": []}]`, want: `[0]: want an object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStructured([]byte(tc.in), "attrs.json", "")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), `parsing closure graph "attrs.json": `) {
				t.Errorf("error %q\nwant it to name the input and contain %q", err, tc.want)
			}
		})
	}
}

func TestParseStructuredIgnoresExtraFields(t *testing.T) {
	in := `[{"path": "` + pA + `", "narHash": "` + hA + `", "narSize": 7, "references": ["` + pA + `"], "closureSize": 7, "valid": true, "ca": "fixed:r:sha256:x"}]`
	g, err := ParseStructured([]byte(in), "x", "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := g.Lookup(pA)
	want := PathInfo{Path: pA, NarHash: hA, NarSize: 7, References: []string{pA}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if g, err := ParseStructured([]byte(" [] "), "x", ""); err != nil || g.Len() != 0 {
		t.Errorf("empty list: %v, %d paths", err, g.Len())
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, in, want string }{
		{name: "plain", in: pA + "\n\nx\n", want: `line 3: bad reference count`},
		{name: "registration", in: pA + "\n" + hA + "\nx\n", want: `line 3: bad narSize`},
		{name: "json", in: "\n [{}]", want: `[0]: field path is missing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name)
			if err := os.WriteFile(file, []byte(tc.in), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(file, "")
			if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s and containing %q", err, file, tc.want)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), ""); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if g, err := ReadFile(empty, ""); err != nil || g.Len() != 0 {
		t.Errorf("empty file: %v", err)
	}
}

func TestParseNarHash(t *testing.T) {
	const b16 = "sha256:04ab7b35598fe0dd3c565301e1bc1952f6e656be33caed58efcefe16d9dc20e6"
	for _, tc := range []struct{ name, in, want string }{
		{name: "nix32", in: "sha256:1ri0vkcidznfxxcfvjikprbfdxjj36yf20akaqydvq4gb4sppaq4", want: b16},
		{name: "base16", in: b16, want: b16},
		{name: "bare base16", in: strings.TrimPrefix(b16, "sha256:"), want: b16},
		{name: "bare nix32", in: "1ri0vkcidznfxxcfvjikprbfdxjj36yf20akaqydvq4gb4sppaq4", want: b16},
		{name: "SRI", in: "sha256-BKt7NVmP4N08VlMB4bwZUvbmVr4zyu1Y787+FtncIOY=", want: b16},
		{name: "base64", in: "sha256:BKt7NVmP4N08VlMB4bwZUvbmVr4zyu1Y787+FtncIOY=", want: b16},
		{name: "md5", in: "md5:00000000000000000000000000000000"},
		{name: "sha512 SRI", in: "sha512-" + strings.Repeat("A", 86) + "=="},
		{name: "short", in: "sha256:abc"},
		{name: "bad nix32 char", in: "sha256:eri0vkcidznfxxcfvjikprbfdxjj36yf20akaqydvq4gb4sppaq4"},
		{name: "empty", in: ""},
		{name: "base64 of 33 bytes", in: "sha256:" + strings.Repeat("0", 44)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NarHashBase16(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted %q as %s", tc.in, got)
				}
				if !strings.Contains(err.Error(), "parsing NAR hash") {
					t.Errorf("error %q does not say what it parsed", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("NarHashBase16(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			if n32, err := NarHashNix32(tc.in); err != nil || n32 != "sha256:1ri0vkcidznfxxcfvjikprbfdxjj36yf20akaqydvq4gb4sppaq4" {
				t.Errorf("NarHashNix32(%q) = %q, %v", tc.in, n32, err)
			}
		})
	}
}

func TestWriteClosureInfoGolden(t *testing.T) {
	for _, src := range []string{"structured.json", "registration", "dump-db.registration"} {
		t.Run(src, func(t *testing.T) {
			g, err := ReadFile(filepath.Join("testdata", src), "")
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "out")
			if err := WriteClosureInfo(dir, g); err != nil {
				t.Fatal(err)
			}
			assertSameFiles(t, filepath.Join("testdata", "closureinfo"), dir)
		})
	}
}

// assertSameFiles checks that dir got holds exactly the files of dir want,
// byte for byte.
func assertSameFiles(t *testing.T, want, got string) {
	t.Helper()
	names := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	if w, g := names(want), names(got); !reflect.DeepEqual(w, g) {
		t.Fatalf("files %v, want %v", g, w)
	}
	for _, name := range names(want) {
		w, _ := os.ReadFile(filepath.Join(want, name))
		g, _ := os.ReadFile(filepath.Join(got, name))
		if !bytes.Equal(w, g) {
			t.Errorf("%s differs:\n got %q\nwant %q", name, g, w)
		}
	}
}

func TestWriteClosureInfoEmptyAndErrors(t *testing.T) {
	dir := t.TempDir()
	if err := WriteClosureInfo(dir, &Graph{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"registration": "", "store-paths": "", "total-nar-size": "0\n"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}

	g, err := ReadFile(filepath.Join("testdata", "plain.graph"), "")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	err = WriteClosureInfo(out, g)
	if err == nil || !strings.Contains(err.Error(), "/nix/store/269xkzc4cra8a3pfdrpcd6c2sf9nv873-busybox has no narHash") {
		t.Errorf("error %v, want one naming the path without narHash", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output directory was created despite the error: %v", err)
	}
}

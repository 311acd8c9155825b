package tests

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/nixdb"
	"github.com/nixlayer/nixlayer/registration"
)

// nixdbFixtures is a Nix expression (in testutil.NixBuild's scope) that
// builds, in this order: a tree with symlinks (relative, absolute into
// hello, dangling), executables, an empty file and an empty directory; the
// plain exportReferencesGraph of that tree; and closure-info of it made by
// nix/closure-info.nix.
func nixdbFixtures(t *testing.T) string {
	return fmt.Sprintf(`let
  nixlayerBin = "${builtins.path { path = %q; name = "nixlayer"; }}/bin/nixlayer";
  closureInfo = import %q { inherit nixlayerBin; };
  tree = testPkgs.run "tree-1.0" ''
    mkdir -p $out/bin $out/share/empty-dir $out/lib
    printf '#!/bin/sh\necho hi\n' > $out/bin/tool
    chmod 755 $out/bin/tool
    printf 'x' > $out/share/exec-only-by-owner
    chmod 700 $out/share/exec-only-by-owner
    touch $out/share/empty-file
    echo data > $out/share/data
    ln -s ../share/data $out/lib/data-link
    ln -s ${testPkgs.hello}/bin/hello $out/bin/hello
    ln -s /nonexistent/dangling $out/share/dangling
  '' {};
  graph = testPkgs.run "tree-graph" "cp closure $out" { exportReferencesGraph = [ "closure" tree ]; };
in [ tree graph (closureInfo { rootPaths = [ tree ]; }) ]`,
		testutil.Binary(t), filepath.Join(testutil.RepoRoot(t), "nix", "closure-info.nix"))
}

type nixdbBuild struct {
	tree, graph, closureInfo string
}

func buildNixdbFixtures(t *testing.T) nixdbBuild {
	t.Helper()
	out := strings.Fields(testutil.NixBuild(t, nixdbFixtures(t)))
	if len(out) != 3 {
		t.Fatalf("nix-build printed %d paths, want 3: %v", len(out), out)
	}
	return nixdbBuild{tree: out[0], graph: out[1], closureInfo: out[2]}
}

// nixStore runs the host's nix-store, on the store rooted at root when root
// is not "".
func nixStore(t *testing.T, root string, args ...string) string {
	t.Helper()
	if root != "" {
		args = append([]string{"--store", "local?root=" + root}, args...)
	}
	return testutil.Run(t, "", append(testutil.NixEnv(), "USER=root"), "nix-store", args...)
}

func lines(s string) []string {
	f := strings.Fields(s)
	sort.Strings(f)
	return f
}

// materialise writes entries into dir as a container runtime would unpack
// the layer, owners included.
func materialise(t *testing.T, dir string, entries []layers.Entry) {
	t.Helper()
	for _, e := range entries {
		p := filepath.Join(dir, e.Name)
		var err error
		switch e.Type {
		case tar.TypeDir:
			if err = os.MkdirAll(p, 0o755); err == nil {
				err = os.Chmod(p, os.FileMode(e.Mode))
			}
		case tar.TypeReg:
			data := e.Data
			if e.Source != "" {
				data, err = os.ReadFile(e.Source)
			}
			if err == nil {
				err = os.WriteFile(p, data, os.FileMode(e.Mode))
			}
		case tar.TypeSymlink:
			err = os.Symlink(e.Linkname, p)
		default:
			err = fmt.Errorf("unexpected type %c", e.Type)
		}
		if err == nil {
			err = os.Lchown(p, e.Uid, e.Gid)
		}
		if err != nil {
			t.Fatalf("materialising %s: %v", e.Name, err)
		}
	}
}

// makeRootfs copies the store paths of g into root/nix/store (cp -a) and
// writes the database layer for g there.
func makeRootfs(t *testing.T, g *registration.Graph, roots []string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "nix", "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range g.Paths() {
		testutil.Run(t, "", nil, "cp", "-a", p.Path, filepath.Join(root, "nix", "store"))
	}
	entries, err := nixdb.Entries(g, nixdb.Options{RegistrationTime: 1, Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	materialise(t, root, entries)
	return root
}

// normalised returns g's paths with hashes as base16 and no deriver, the
// form `nix-store --dump-db` and closureInfo can be compared in.
func normalised(t *testing.T, g *registration.Graph) string {
	t.Helper()
	var sb strings.Builder
	for _, p := range g.Paths() {
		h, err := registration.NarHashBase16(p.NarHash)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%s %s %d %v\n", p.Path, h, p.NarSize, p.References)
	}
	return sb.String()
}

// dumpDB parses `nix-store --dump-db paths...` of the store at root.
func dumpDB(t *testing.T, root string, paths ...string) *registration.Graph {
	t.Helper()
	g, err := registration.ParseRegistration(strings.NewReader(nixStore(t, root, append([]string{"--dump-db"}, paths...)...)), "nix-store --dump-db", "")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func readGraph(t *testing.T, file string) *registration.Graph {
	t.Helper()
	g, err := registration.ReadFile(file, "")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// sameRegistration fails unless got and want register the same paths with
// the same hashes (in any encoding), sizes and references.
func sameRegistration(t *testing.T, what string, got, want *registration.Graph) {
	t.Helper()
	if g, w := normalised(t, got), normalised(t, want); g != w {
		t.Errorf("%s:\n%s\nwant:\n%s", what, g, w)
	}
}

// verifyStore runs `nix-store --verify --check-contents` on the store at root.
func verifyStore(root string) (string, error) {
	_, stderr, err := testutil.RunErr("", append(testutil.NixEnv(), "USER=root"), "nix-store", "--store", "local?root="+root, "--verify", "--check-contents")
	return stderr, err
}

// TestNixDBAcceptance builds the database for a real closure whose hashes
// nixlayer computes itself (plain exportReferencesGraph), unpacks it into a
// root file system and lets the host's Nix check it.
func TestNixDBAcceptance(t *testing.T) {
	testutil.RequireTool(t, "nix-store")
	b := buildNixdbFixtures(t)
	plain, err := registration.ReadFile(b.graph, "")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := plain.Lookup(b.tree); p.NarHash != "" {
		t.Fatalf("the plain exportReferencesGraph unexpectedly carries a hash: %+v", p)
	}
	g, err := nixdb.Complete(context.Background(), plain, false)
	if err != nil {
		t.Fatal(err)
	}
	root := makeRootfs(t, g, []string{b.tree})

	t.Run("verify check-contents", func(t *testing.T) {
		stderr, err := verifyStore(root)
		if err != nil || strings.Contains(stderr, "modified") || strings.Contains(stderr, "error") {
			t.Fatalf("nix-store --verify --check-contents: %v\n%s", err, stderr)
		}
	})
	t.Run("references and requisites", func(t *testing.T) {
		for _, p := range g.Paths() {
			got := lines(nixStore(t, root, "-q", "--references", p.Path))
			want := append([]string{}, p.References...)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("references of %s: nix-store says %v, the graph %v", p.Path, got, want)
			}
		}
		got := lines(nixStore(t, root, "-q", "--requisites", b.tree))
		want, err := g.Closure(b.tree)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") || len(want) < 4 {
			t.Errorf("requisites of %s: nix-store says %v, the graph %v", b.tree, got, want)
		}
	})
	t.Run("dump-db equals Nix's own registration", func(t *testing.T) {
		// closureInfo built by Nix carries the hashes Nix computed.
		sameRegistration(t, "--dump-db of the image", dumpDB(t, root), readGraph(t, filepath.Join(b.closureInfo, "registration")))
	})
	t.Run("gcroot", func(t *testing.T) {
		link, err := os.Readlink(filepath.Join(root, "nix/var/nix/gcroots/docker", filepath.Base(b.tree)))
		if err != nil || link != b.tree {
			t.Errorf("gcroot of %s: %q, %v", b.tree, link, err)
		}
	})
	t.Run("a modified file is caught", func(t *testing.T) {
		// The check above must be able to fail: change one byte of a
		// file in a copy and expect nix-store to refuse it.
		bad := makeRootfs(t, g, []string{b.tree})
		f := filepath.Join(bad, strings.TrimPrefix(b.tree, "/"), "share", "data")
		if err := os.Chmod(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("DATA\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		stderr, err := verifyStore(bad)
		if err == nil || !strings.Contains(stderr, b.tree) {
			t.Fatalf("nix-store --verify accepted a modified path: %v\n%s", err, stderr)
		}
	})
}

// TestNixDBBaseImage registers a base image's paths (read back from its
// database) together with the image's own.
func TestNixDBBaseImage(t *testing.T) {
	testutil.RequireTool(t, "nix-store")
	b := buildNixdbFixtures(t)
	all := readGraph(t, filepath.Join(b.closureInfo, "registration"))
	var hello string
	for _, p := range all.Paths() {
		if strings.HasSuffix(p.Path, "-hello-1.0") {
			hello = p.Path
		}
	}
	base, err := all.Subgraph(hello)
	if err != nil {
		t.Fatal(err)
	}
	// The base image: its own database for hello's closure.
	baseRoot := makeRootfs(t, base, []string{hello})
	baseDB, err := nixdb.ReadGraph(filepath.Join(baseRoot, "nix/var/nix/db/db.sqlite"), "")
	if err != nil {
		t.Fatal(err)
	}
	merged, err := nixdb.Merge(baseDB, all)
	if err != nil {
		t.Fatal(err)
	}
	sameRegistration(t, "base and image registrations merged", merged, all)
	root := makeRootfs(t, merged, []string{b.tree})
	if stderr, err := verifyStore(root); err != nil {
		t.Fatalf("nix-store --verify --check-contents: %v\n%s", err, stderr)
	}
	got := lines(nixStore(t, root, "-q", "--requisites", hello))
	want, _ := all.Closure(hello)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("requisites of the base image's %s: %v, want %v", hello, got, want)
	}

	t.Run("other schema version", func(t *testing.T) {
		schema := filepath.Join(baseRoot, "nix/var/nix/db/schema")
		if err := os.WriteFile(schema, []byte("9"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := nixdb.ReadGraph(filepath.Join(baseRoot, "nix/var/nix/db/db.sqlite"), "")
		if err == nil || !strings.Contains(err.Error(), schema) || !strings.Contains(err.Error(), "version 9") {
			t.Fatalf("ReadGraph with schema 9: %v", err)
		}
	})
}

// TestHashPathMatchesNix compares nixlayer's NAR hash and size of every path
// of the closure (the tree has symlinks, executables, an empty file and an
// empty directory) with what the host's Nix registered.
func TestHashPathMatchesNix(t *testing.T) {
	testutil.RequireTool(t, "nix-store")
	b := buildNixdbFixtures(t)
	for _, p := range lines(nixStore(t, "", "-q", "--requisites", b.tree)) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			h, n, err := nixdb.HashPath(p)
			if err != nil {
				t.Fatal(err)
			}
			wantHash := strings.TrimSpace(nixStore(t, "", "-q", "--hash", p))
			wantSize, err := strconv.ParseUint(strings.TrimSpace(nixStore(t, "", "-q", "--size", p)), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			if h != wantHash || n != wantSize {
				t.Errorf("HashPath(%s) = %s %d; nix-store says %s %d", p, h, n, wantHash, wantSize)
			}
		})
	}
}

// TestClosureInfo compares nix/closure-info.nix's output with what the
// host's Nix says about the same closure, and the command outside Nix (from
// the plain graph, hashing the paths itself) with the Nix-built output.
func TestClosureInfo(t *testing.T) {
	testutil.RequireTool(t, "nix-store")
	b := buildNixdbFixtures(t)
	read := func(dir, name string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	requisites := lines(nixStore(t, "", "-q", "--requisites", b.tree))

	t.Run("store-paths and total-nar-size", func(t *testing.T) {
		if got := lines(read(b.closureInfo, "store-paths")); strings.Join(got, " ") != strings.Join(requisites, " ") {
			t.Errorf("store-paths = %v, want %v", got, requisites)
		}
		var total uint64
		for _, p := range requisites {
			n, err := strconv.ParseUint(strings.TrimSpace(nixStore(t, "", "-q", "--size", p)), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		if got := read(b.closureInfo, "total-nar-size"); got != strconv.FormatUint(total, 10)+"\n" {
			t.Errorf("total-nar-size = %q, want %d", got, total)
		}
	})
	t.Run("registration equals nix-store --dump-db", func(t *testing.T) {
		sameRegistration(t, "closure-info's registration", readGraph(t, filepath.Join(b.closureInfo, "registration")), dumpDB(t, "", requisites...))
	})
	t.Run("command outside Nix", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "ci")
		testutil.Run(t, "", nil, testutil.Exe(t), "closure-info", "--closure", b.graph, "--out", out, "--check")
		for _, name := range []string{"registration", "store-paths", "total-nar-size"} {
			if got, want := read(out, name), read(b.closureInfo, name); got != want {
				t.Errorf("%s from the plain graph differs from Nix's:\n%s\nwant:\n%s", name, got, want)
			}
		}
	})
	t.Run("bad input", func(t *testing.T) {
		dir := t.TempDir()
		reg := read(b.closureInfo, "registration")
		tests := []struct {
			name, content, wantErr string
			args                   []string
		}{
			{"invalid hash", strings.Replace(reg, "sha256:", "sha256:!!", 1), "sha256:!!", nil},
			{"wrong size checked", strings.Replace(reg, "\n"+firstSize(t, reg)+"\n", "\n1"+firstSize(t, reg)+"\n", 1), "narSize on disk", []string{"--check"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := filepath.Join(dir, tt.name+".reg")
				if err := os.WriteFile(in, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(dir, tt.name+".out")
				args := append([]string{"closure-info", "--closure", in, "--out", out}, tt.args...)
				_, stderr, err := testutil.RunErr("", nil, testutil.Exe(t), args...)
				if err == nil || !strings.Contains(stderr, tt.wantErr) {
					t.Fatalf("closure-info: %v, stderr %q, want an error containing %q", err, stderr, tt.wantErr)
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("closure-info left %s behind after an error", out)
				}
			})
		}
	})
}

// firstSize returns the narSize line of the first record of a registration.
func firstSize(t *testing.T, reg string) string {
	l := strings.Split(reg, "\n")
	if len(l) < 3 {
		t.Fatalf("short registration %q", reg)
	}
	return l[2]
}

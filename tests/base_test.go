package tests

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

// umociImage builds, with umoci and skopeo, a busybox image as other tools
// make them: layer 1 a rootfs with /usr/bin/busybox and "bin -> usr/bin",
// layer 2 a whiteout of /etc/motd, layer 3 an opaque /etc/conf.d; then
// `skopeo copy oci:… docker-archive:…`. It returns the docker-archive.
func umociImage(t *testing.T) string {
	t.Helper()
	testutil.RequireTool(t, "umoci")
	testutil.RequireTool(t, "skopeo")
	bb := testutil.RequireTool(t, "busybox")
	d := t.TempDir()
	layout := filepath.Join(d, "oci")
	testutil.Run(t, d, nil, "umoci", "init", "--layout", layout)
	testutil.Run(t, d, nil, "umoci", "new", "--image", layout+":base")
	bundle := filepath.Join(d, "bundle")
	testutil.Run(t, d, nil, "umoci", testutil.UnpackArgs("--image", layout+":base", bundle)...)
	root := filepath.Join(bundle, "rootfs")
	bbData, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name, data string
		mode       os.FileMode
	}{
		{"usr/bin/busybox", string(bbData), 0o755},
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644},
		{"etc/motd", "welcome\n", 0o644},
		{"etc/conf.d/a", "a\n", 0o600},
		{"etc/conf.d/b", "b\n", 0o644},
		{"usr/sbin/su", "setuid\n", 0o755 | fs.ModeSetuid},
		{"tmp/.keep", "", 0o644},
	} {
		p := filepath.Join(root, f.name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, f.mode)
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o777|fs.ModeSticky)
	for link, target := range map[string]string{"bin": "usr/bin", "usr/bin/sh": "busybox", "usr/bin/ls": "/usr/bin/busybox"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(root, "etc/passwd"), filepath.Join(root, "etc/passwd-")); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, d, nil, "umoci", "repack", "--image", layout+":base", bundle)
	testutil.Run(t, d, nil, "umoci", "insert", "--image", layout+":base", "--whiteout", "/etc/motd")
	src := filepath.Join(d, "conf.d")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "c"), []byte("c\n"), 0o644)
	testutil.Run(t, d, nil, "umoci", "insert", "--image", layout+":base", "--opaque", src, "/etc/conf.d")
	archive := filepath.Join(d, "base.tar")
	testutil.Run(t, d, nil, "skopeo", "copy", "oci:"+layout+":base", "docker-archive:"+archive+":test/base:latest")
	return archive
}

// fsEntry describes one file of a root filesystem for comparison.
type fsEntry struct {
	typ     byte
	mode    int64
	link    string
	content string // sha256
	owner   string
}

func (e fsEntry) String() string {
	return fmt.Sprintf("%c %o %s %s %s", e.typ, e.mode, e.link, e.content, e.owner)
}

// umociRootfs unpacks a docker-archive with skopeo and umoci and lists it.
func umociRootfs(t *testing.T, archive string) map[string]fsEntry {
	t.Helper()
	root := testutil.Unpack(t, archive)
	out := map[string]fsEntry{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		// archive/tar, not nixlayer, turns the file's mode into tar's bits.
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		var content io.Reader
		if h.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			content = f
		}
		out[rel], err = entryOf(h, content)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// entryOf describes a file by its tar header and, for a regular file, its
// content.
func entryOf(h *tar.Header, content io.Reader) (fsEntry, error) {
	e := fsEntry{typ: h.Typeflag, mode: h.Mode, link: h.Linkname, owner: fmt.Sprintf("%d:%d", h.Uid, h.Gid)}
	switch h.Typeflag {
	case tar.TypeSymlink:
		e.mode = 0o777
	case tar.TypeReg:
		s := sha256.New()
		if _, err := io.Copy(s, content); err != nil {
			return e, fmt.Errorf("reading %s: %w", h.Name, err)
		}
		e.content = hex.EncodeToString(s.Sum(nil))
	}
	return e, nil
}

// tarRootfs lists a flattened rootfs tar the same way.
func tarRootfs(t *testing.T, r io.Reader) (map[string]fsEntry, []string) {
	t.Helper()
	out := map[string]fsEntry{}
	var order []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, order
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "./" && h.Typeflag == tar.TypeDir {
			continue // the root, first, as dockerTools' exportImage writes it
		}
		name, ok := strings.CutPrefix(strings.TrimSuffix(h.Name, "/"), "./")
		if !ok {
			t.Errorf("%s: name without dockerTools' ./ prefix", h.Name)
		}
		order = append(order, name)
		e, err := entryOf(h, tr)
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(time.Unix(1, 0)) {
			t.Errorf("%s: mtime %v, want 1", name, h.ModTime)
		}
		if _, dup := out[name]; dup {
			t.Errorf("%s written twice", name)
		}
		out[name] = e
	}
}

// assertExportMatchesUmoci is the check for any docker-archive (images made
// by other tools, and by nixlayer itself): `nixlayer export` of the archive
// must list the same files as `umoci unpack` of it (types, modes, symlink
// targets, contents, and owners when run as root), in path order, and two
// exports must be byte-identical. It returns the exported tar.
func assertExportMatchesUmoci(t *testing.T, archive string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rootfs.tar")
	testutil.Run(t, "", nil, testutil.Exe(t), "export", "-o", out, archive)
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "rootfs.tar")
	testutil.Run(t, "", nil, testutil.Exe(t), "export", "-o", out2, archive)
	if again, _ := os.ReadFile(out2); !bytes.Equal(got, again) {
		t.Error("two exports of the same image differ")
	}
	ours, order := tarRootfs(t, bytes.NewReader(got))
	if !slices.IsSortedFunc(order, func(a, b string) int {
		return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/"))
	}) {
		t.Errorf("export is not in path order: %q", order)
	}
	theirs := umociRootfs(t, archive)
	if len(theirs) == 0 || len(ours) != len(theirs) {
		t.Errorf("export has %d files, umoci's rootfs %d", len(ours), len(theirs))
	}
	root := os.Geteuid() == 0
	if !root {
		t.Log("not root: umoci cannot keep owners, so owners are not compared")
	}
	for name, want := range theirs {
		g, ok := ours[name]
		if !ok {
			t.Errorf("%s: in umoci's rootfs (%v), not in the export", name, want)
			continue
		}
		if !root {
			g.owner, want.owner = "", ""
		}
		if g != want {
			t.Errorf("%s: export %v, umoci %v", name, g, want)
		}
	}
	for name := range ours {
		if _, ok := theirs[name]; !ok {
			t.Errorf("%s: in the export, not in umoci's rootfs", name)
		}
	}
	return got
}

func TestBaseImageFromUmociAndSkopeo(t *testing.T) {
	archive := umociImage(t)

	img, err := base.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if img.Format() != base.DockerArchive || img.Ref() != "docker.io/test/base:latest" || len(img.Layers()) != 3 {
		t.Fatalf("Open: format %s, ref %q, %d layers; want docker-archive, docker.io/test/base:latest, 3", img.Format(), img.Ref(), len(img.Layers()))
	}
	if _, err := img.DiffIDs(); err != nil {
		t.Fatal(err)
	}
	x, err := img.Index()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"bin": "symlink usr/bin", "etc/motd": "absent", "etc/conf.d/a": "absent", "etc/conf.d/c": "file", "bin/busybox": "file", "usr/sbin/su": "file"} {
		f, ok, err := x.Lookup(name)
		var got string
		switch {
		case err != nil:
			got = err.Error()
		case !ok:
			got = "absent"
		case f.Type == tar.TypeSymlink:
			got = "symlink " + f.Linkname
		case f.Type == tar.TypeReg:
			got = "file"
		}
		if got != want {
			t.Errorf("Lookup(%q) = %s, want %s", name, got, want)
		}
	}

	got := assertExportMatchesUmoci(t, archive)
	ours, _ := tarRootfs(t, bytes.NewReader(got))
	if e := ours["usr/sbin/su"]; e.mode != 0o4755 {
		t.Errorf("usr/sbin/su mode %o, want 4755", e.mode)
	}
	if e := ours["etc/passwd-"]; e.typ != tar.TypeReg || e.content != ours["etc/passwd"].content {
		t.Errorf("hard link etc/passwd- exported as %v, want a copy of etc/passwd", e)
	}

	t.Run("exportImage", func(t *testing.T) {
		bin := testutil.Binary(t)
		expr := fmt.Sprintf(`(import %s/nix/export.nix {
  nixlayerBin = "${builtins.path { path = %s; name = "nixlayer"; }}/bin/nixlayer";
  system = builtins.currentSystem;
}).exportImage { fromImage = %s; fromImageName = "test/base"; fromImageTag = "latest"; }`,
			testutil.RepoRoot(t), bin, archive)
		out := testutil.NixBuild(t, expr)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, got) {
			t.Errorf("exportImage output (%d bytes) differs from nixlayer export (%d bytes)", len(b), len(got))
		}
		_, errOut, err := testutil.NixBuildErr(t, strings.Replace(expr, `fromImageTag = "latest"`, `fromImageTag = "nope"`, 1))
		if err == nil || !strings.Contains(errOut, `has no image "test/base:nope"; it holds: docker.io/test/base:latest`) {
			t.Errorf("exportImage with a wrong tag: err %v, stderr:\n%s", err, errOut)
		}
	})
}

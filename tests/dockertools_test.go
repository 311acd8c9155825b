package tests

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// builtImage is an image read back with go-containerregistry: its config,
// its layers' media types and every tar header by path (a later layer
// wins).
type builtImage struct {
	path   string
	config *v1.ConfigFile
	media  []string
	// compression is each layer's, from its first bytes: gzip, zstd or
	// none.
	compression []string
	headers     map[string]*tar.Header
	tags        []string
}

// readImage reads a docker-archive, or an OCI layout directory.
func readImage(t *testing.T, path string) builtImage {
	t.Helper()
	var img v1.Image
	var err error
	b := builtImage{path: path, headers: map[string]*tar.Header{}}
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		var idx v1.ImageIndex
		if idx, err = layout.ImageIndexFromPath(path); err == nil {
			var m *v1.IndexManifest
			if m, err = idx.IndexManifest(); err == nil {
				img, err = idx.Image(m.Manifests[0].Digest)
			}
		}
	} else {
		img, err = tarball.ImageFromPath(path, nil)
		var manifest []struct{ RepoTags, Layers []string }
		if err == nil && json.Unmarshal(archiveMember(t, path, "manifest.json"), &manifest) == nil && len(manifest) == 1 {
			b.tags = manifest[0].RepoTags
			// go-containerregistry compresses uncompressed blobs it reads:
			// the archive's members say what was written.
			for _, l := range manifest[0].Layers {
				b.compression = append(b.compression, magicCompression(archiveMember(t, path, l)))
			}
		}
	}
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if b.config, err = img.ConfigFile(); err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		mt, _ := l.MediaType()
		b.media = append(b.media, string(mt))
		if len(b.compression) < len(ls) {
			b.compression = append(b.compression, blobCompression(t, l))
		}
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s layer %d: %v", path, i+1, err)
			}
			b.headers[strings.TrimSuffix(h.Name, "/")] = h
		}
		rc.Close()
	}
	return b
}

// blobCompression tells a layer blob's compression by its magic bytes.
func blobCompression(t *testing.T, l v1.Layer) string {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(rc, magic); err != nil {
		t.Fatal(err)
	}
	return magicCompression(magic)
}

// magicCompression tells a blob's compression by its first bytes.
func magicCompression(magic []byte) string {
	switch {
	case len(magic) < 4:
		return "none"
	case magic[0] == 0x1f && magic[1] == 0x8b:
		return "gzip"
	case string(magic[:4]) == "\x28\xb5\x2f\xfd":
		return "zstd"
	}
	return "none"
}

// storePaths returns the store paths (base names) the image holds.
func (b builtImage) storePaths() map[string]bool {
	out := map[string]bool{}
	for name := range b.headers {
		if rest, ok := strings.CutPrefix(name, "nix/store/"); ok {
			out[strings.SplitN(rest, "/", 2)[0]] = true
		}
	}
	return out
}

// has fails the test unless the image holds the store path p.
func (b builtImage) has(t *testing.T, p string) {
	t.Helper()
	if !b.storePaths()[filepath.Base(p)] {
		t.Errorf("%s lacks %s (it holds %v)", b.path, p, b.storePaths())
	}
}

// nixBuildAll builds the Nix expressions exprs in one nix-build and returns
// their outputs, in order.
func nixBuildAll(t *testing.T, exprs []string) []string {
	t.Helper()
	out := strings.Fields(testutil.NixBuild(t, "[\n"+strings.Join(exprs, "\n")+"\n]"))
	if len(out) != len(exprs) {
		t.Fatalf("nix-build printed %d paths for %d expressions: %q", len(out), len(exprs), out)
	}
	return out
}

// TestArguments builds one small image per argument of the README's
// argument table and checks, reading it back with go-containerregistry,
// that the argument did what the table says.
func TestArguments(t *testing.T) {
	const hello = "testPkgs.hello"
	layered := func(extra string) string {
		return `(nl.buildLayeredImage ({ name = "args"; tag = "v1"; contents = [ ` + hello + ` ]; } // { ` + extra + ` }))`
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "greeting"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nixRoot := "/" + strings.TrimPrefix(root, "/")
	cases := []struct {
		arg, expr string
		check     func(t *testing.T, b builtImage)
	}{
		{"name", `(nl.buildLayeredImage { name = "Args-Name"; tag = "v1"; })`, func(t *testing.T, b builtImage) {
			if strings.Join(b.tags, " ") != "args-name:v1" {
				t.Errorf("RepoTags %q, want [args-name:v1] (lowercased)", b.tags)
			}
		}},
		{"tag", layered(`tag = "V2";`), func(t *testing.T, b builtImage) {
			if strings.Join(b.tags, " ") != "args:v2" {
				t.Errorf("RepoTags %q, want [args:v2]", b.tags)
			}
		}},
		{"contents", layered(``), func(t *testing.T, b builtImage) {
			if h := b.headers["bin/hello"]; h == nil || h.Typeflag != tar.TypeSymlink {
				t.Errorf("/bin/hello: %v, want a link into the hello store path", h)
			}
		}},
		{"contents (Nix path)", `(nl.buildImage { name = "args"; contents = [ ` + nixRoot + ` ]; })`, func(t *testing.T, b builtImage) {
			if h := b.headers["etc/greeting"]; h == nil || h.Typeflag != tar.TypeReg {
				t.Errorf("/etc/greeting: %v, want the file copied from the Nix path", h)
			}
		}},
		{"copyToRoot (Nix path, layered)", layered(`copyToRoot = ` + nixRoot + `;`), func(t *testing.T, b builtImage) {
			if h := b.headers["etc/greeting"]; h == nil || h.Typeflag != tar.TypeSymlink {
				t.Errorf("/etc/greeting: %v, want a link into the copied Nix path", h)
			}
		}},
		{"config", layered(`config = { Cmd = [ "/bin/hello" ]; Env = [ "A=1" ]; };`), func(t *testing.T, b builtImage) {
			if strings.Join(b.config.Config.Cmd, " ") != "/bin/hello" || strings.Join(b.config.Config.Env, " ") != "A=1" {
				t.Errorf("config %+v", b.config.Config)
			}
		}},
		{"created", layered(`created = "2024-01-02T03:04:05Z";`), func(t *testing.T, b builtImage) {
			if !b.config.Created.Time.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("created %v", b.config.Created)
			}
		}},
		{"mtime (seconds)", layered(`mtime = 1700000000;`), func(t *testing.T, b builtImage) {
			if h := b.headers["bin"]; h == nil || h.ModTime.Unix() != 1700000000 {
				t.Errorf("/bin mtime %v, want 1700000000", h)
			}
		}},
		{"mtime (ISO-8601)", layered(`mtime = "2024-01-02T03:04:05Z";`), func(t *testing.T, b builtImage) {
			if h := b.headers["bin"]; h == nil || !h.ModTime.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("/bin mtime %v, want 2024-01-02T03:04:05Z", h)
			}
		}},
		{"uid, gid", layered(`uid = 1000; gid = 100;`), func(t *testing.T, b builtImage) {
			if h := b.headers["bin"]; h == nil || h.Uid != 1000 || h.Gid != 100 {
				t.Errorf("/bin owner %v, want 1000:100", h)
			}
		}},
		{"uname, gname", layered(`uid = 1000; uname = "app"; gname = "staff";`), func(t *testing.T, b builtImage) {
			for _, n := range []string{"bin", "bin/hello"} {
				if h := b.headers[n]; h == nil || h.Uid != 1000 || h.Uname != "app" || h.Gname != "staff" {
					t.Errorf("/%s owner %+v, want 1000 app:staff", n, h)
				}
			}
		}},
		{"architecture", layered(`architecture = "arm64";`), func(t *testing.T, b builtImage) {
			if b.config.Architecture != "arm64" {
				t.Errorf("architecture %q", b.config.Architecture)
			}
		}},
		{"variant", layered(`architecture = "arm"; variant = "v6";`), func(t *testing.T, b builtImage) {
			if b.config.Architecture != "arm" || b.config.Variant != "v6" {
				t.Errorf("platform %s/%s, want arm/v6", b.config.Architecture, b.config.Variant)
			}
		}},
		{"format", layered(`format = "oci-layout";`), func(t *testing.T, b builtImage) {
			if _, err := os.Stat(filepath.Join(b.path, "index.json")); err != nil || !strings.Contains(b.media[0], "oci") {
				t.Errorf("not an OCI layout: %v, media types %q", err, b.media)
			}
		}},
		{"compression", layered(`compression = "zstd";`), func(t *testing.T, b builtImage) {
			if b.compression[0] != "zstd" {
				t.Errorf("layers %q, want zstd", b.compression)
			}
		}},
		{"compressor gz", layered(`compressor = "gz";`), func(t *testing.T, b builtImage) {
			if b.compression[0] != "gzip" {
				t.Errorf("layers %q, want gzip", b.compression)
			}
		}},
		{"compressor none", layered(`compressor = "none";`), func(t *testing.T, b builtImage) {
			if b.compression[0] != "none" {
				t.Errorf("layers %q, want uncompressed", b.compression)
			}
		}},
		{"maxLayers", layered(`maxLayers = 2;`), func(t *testing.T, b builtImage) {
			if len(b.media) != 2 {
				t.Errorf("%d layers, want 2", len(b.media))
			}
		}},
		{"layering", layered(`layering = "none";`), func(t *testing.T, b builtImage) {
			if len(b.media) != 1 {
				t.Errorf("%d layers, want 1 (the closure and the contents copied, as buildImage)", len(b.media))
			}
		}},
		{"fromImage, fromImageName, fromImageTag", layered(`fromImage = nl.buildLayeredImage { name = "base"; tag = "v1"; contents = [ testPkgs.twins ]; };
			fromImageName = "base"; fromImageTag = "v1";`), func(t *testing.T, b builtImage) {
			if h := b.headers["share/twins/a"]; h == nil {
				t.Error("the base's /share/twins/a is missing")
			}
		}},
		{"includeNixDB, nixUid, nixGid", layered(`includeNixDB = true; nixUid = 1000; nixGid = 1000;`), func(t *testing.T, b builtImage) {
			if h := b.headers["nix/var/nix/db/db.sqlite"]; h == nil || h.Uid != 1000 || h.Gid != 1000 || h.Uname != "nix" {
				t.Errorf("db.sqlite %+v, want it owned by 1000:1000 (nix)", h)
			}
		}},
		{"nixUname, nixGname", layered(`includeNixDB = true; nixUid = 1000; nixUname = "alice"; nixGname = "wheel";`), func(t *testing.T, b builtImage) {
			if h := b.headers["nix/var/nix/db/db.sqlite"]; h == nil || h.Uname != "alice" || h.Gname != "wheel" {
				t.Errorf("db.sqlite %+v, want it owned by alice:wheel", h)
			}
		}},
		{"users, groups, perms, directories", layered(`users = [ { name = "app"; uid = 1000; } ]; groups = [ { name = "staff"; gid = 50; } ];
			directories = [ "/data" ]; perms = [ { path = "/data"; uname = "app"; gname = "staff"; mode = "0700"; } ]; config.User = "app";`), func(t *testing.T, b builtImage) {
			if h := b.headers["data"]; h == nil || h.Uid != 1000 || h.Gid != 50 || h.Mode&0o7777 != 0o700 {
				t.Errorf("/data %+v, want 0700 owned by app:staff (1000:50)", h)
			}
			if b.headers["etc/passwd"] == nil || b.headers["home/app"] == nil {
				t.Error("no /etc/passwd or /home/app")
			}
		}},
		{"files, symlinks, extraCommands, shell", layered(`files."/etc/motd" = "hi\n"; symlinks."/bin/sh" = "${testPkgs.bbBin}/bin/sh";
			extraCommands = "mkdir -p var/log"; shell = "${testPkgs.bbBin}/bin/sh";`), func(t *testing.T, b builtImage) {
			for _, n := range []string{"etc/motd", "bin/sh", "var/log"} {
				if b.headers[n] == nil {
					t.Errorf("/%s missing", n)
				}
			}
		}},
		{"includeStorePaths = false", layered(`includeStorePaths = false; config.Cmd = [ "${testPkgs.bbBin}/bin/sh" ];`), func(t *testing.T, b builtImage) {
			if ps := b.storePaths(); len(ps) != 0 || len(b.media) != 1 {
				t.Errorf("%d layers holding store paths %v; want the root layer alone", len(b.media), ps)
			}
			if h := b.headers["bin/hello"]; h == nil || h.Typeflag != tar.TypeSymlink {
				t.Errorf("/bin/hello %v: the contents' root links stay", h)
			}
		}},
		{"keepContentsDirlinks = false, debug", layered(`keepContentsDirlinks = false; debug = true;`), func(t *testing.T, b builtImage) {
			if b.headers["bin/hello"] == nil {
				t.Error("/bin/hello missing")
			}
		}},
	}
	exprs := make([]string, len(cases))
	for i, c := range cases {
		exprs[i] = c.expr
	}
	outs := nixBuildAll(t, exprs)
	for i, c := range cases {
		t.Run(c.arg, func(t *testing.T) { c.check(t, readImage(t, outs[i])) })
	}
}

// TestArgumentsPassthru: passthru, meta, dockerTools' passthrus and
// .override, evaluated without building.
func TestArgumentsPassthru(t *testing.T) {
	out := testutil.NixBuild(t, `let
	  img = nl.buildLayeredImage { name = "Pass"; tag = "V1"; config.Cmd = [ "/x" ]; passthru.foo = "bar"; meta.description = "d"; };
	  s = nl.streamLayeredImage { name = "s"; };
	  pulled = nl.pullImage { imageName = "docker.io/library/alpine"; imageDigest = "sha256:0"; sha256 = "0000000000000000000000000000000000000000000000000000"; finalImageName = "alpine"; finalImageTag = "3"; };
	  got = [ img.imageName img.imageTag img.foo img.meta.description (builtins.head img.conf.Cmd) s.isExe img.stream.name
	    (img.override { tag = "v2"; }).imageTag (img.override (old: { name = old.name + "2"; })).name pulled.imageName pulled.imageTag ];
	  want = [ "pass" "v1" "bar" "d" "/x" true "stream-Pass" "v2" "Pass2.tar" "alpine" "3" ];
	in assert got == want || throw "got ${builtins.toJSON got}"; testPkgs.hello`)
	if out == "" {
		t.Fatal("no output")
	}
}

// TestClosureOfArguments: store paths named only in config, symlinks,
// files, users (shells), perms and extraCommands are in the image, in
// every builder, and the references helper is not.
func TestClosureOfArguments(t *testing.T) {
	args := `name = "closure"; tag = "v1";
	  config.Cmd = [ "${testPkgs.hello}/bin/hello" "-c" conf ];
	  symlinks."/bin/sh" = "${testPkgs.bbBin}/bin/sh";
	  files."/etc/twins" = { source = "${testPkgs.twins}/share/twins/a"; };
	  extraCommands = "echo ${extra} > made";
	  shell = "${testPkgs.bbBin}/bin/sh";
	  users = [ { name = "app"; uid = 1000; shell = "${userShell}/bin/sh"; } ];
	  perms = [ { path = "${permed}/bin/tool"; mode = "4555"; } ];`
	lets := `userShell = testPkgs.run "user-shell" "mkdir -p $out/bin; ln -s ${testPkgs.busybox} $out/bin/sh" { };
	  permed = testPkgs.run "permed" "mkdir -p $out/bin; echo x > $out/bin/tool" { };`
	outs := nixBuildAll(t, []string{
		`(let ` + lets + ` conf = testPkgs.run "app.conf" "printf 'listen 80;' > $out" { }; extra = testPkgs.big; in nl.buildLayeredImage { ` + args + ` })`,
		`(let ` + lets + ` conf = testPkgs.run "app.conf" "printf 'listen 80;' > $out" { }; extra = testPkgs.big; in nl.buildImage { ` + args + ` })`,
		`(let ` + lets + ` conf = testPkgs.run "app.conf" "printf 'listen 80;' > $out" { }; extra = testPkgs.big; in nl.streamLayeredImage { ` + args + ` })`,
		`(testPkgs.run "app.conf" "printf 'listen 80;' > $out" { })`,
		"testPkgs.hello", "testPkgs.bbBin", "testPkgs.twins", "testPkgs.big",
		`(let ` + lets + ` in userShell)`, `(let ` + lets + ` in permed)`,
	})
	conf, hello, bbBin, twins, big, userShell, permed := outs[3], outs[4], outs[5], outs[6], outs[7], outs[8], outs[9]
	stream := filepath.Join(t.TempDir(), "stream.tar")
	testutil.Run(t, "", nil, outs[2], "-o", stream)
	for i, p := range []string{outs[0], outs[1], stream} {
		t.Run([]string{"buildLayeredImage", "buildImage", "streamLayeredImage"}[i], func(t *testing.T) {
			b := readImage(t, p)
			for _, want := range []string{conf, hello, bbBin, twins, big, userShell, permed} {
				b.has(t, want)
			}
			for sp := range b.storePaths() {
				if strings.HasSuffix(sp, "-nixlayer-references") {
					t.Errorf("the image holds the references helper %s", sp)
				}
			}
		})
	}
	t.Run("the README's /bin/sh link is not dangling", func(t *testing.T) {
		rootfs := testutil.Unpack(t, outs[0])
		if out := testutil.Run(t, "", nil, "chroot", rootfs, "/bin/sh", "-c", "echo ok"); out != "ok\n" {
			t.Errorf("/bin/sh -c 'echo ok' in the image printed %q", out)
		}
		if b, err := os.ReadFile(filepath.Join(rootfs, conf)); err != nil || string(b) != "listen 80;" {
			t.Errorf("the config's file %s in the image: %q, %v", conf, b, err)
		}
	})
}

// TestArgumentErrors: a misspelt argument names the nearest valid one,
// dockerTools arguments nixlayer does not take say what to do instead, and
// an undefined config.User stays an error.
func TestArgumentErrors(t *testing.T) {
	for _, c := range []struct{ name, expr, want string }{
		{"contnets", `nl.buildImage { name = "x"; contnets = [ ]; }`, "nixlayer.buildImage: unknown argument contnets; did you mean contents?"},
		{"comprssion", `nl.buildLayeredImage { name = "x"; comprssion = "zstd"; }`, "nixlayer.buildLayeredImage: unknown argument comprssion; did you mean compression?"},
		{"maxLayer", `nl.streamLayeredImage { name = "x"; maxLayer = 3; }`, "nixlayer.streamLayeredImage: unknown argument maxLayer; did you mean maxLayers?"},
		{"far from every name", `nl.buildImage { name = "x"; wibblewobble = 1; }`, "nixlayer.buildImage: unknown argument wibblewobble; buildImage takes name, tag, contents"},
		{"layering in buildImage", `nl.buildImage { name = "x"; layering = "size"; }`, "layering is an argument of buildLayeredImage, buildLayeredImageWithNixDb, streamLayeredImage, not of buildImage"},
		{"diskSize", `nl.buildImage { name = "x"; diskSize = 1024; }`, "nixlayer.buildImage: diskSize is not supported: nixlayer runs no VM: not needed"},
		{"exportImage diskSize", `nl.exportImage { fromImage = nl.buildImage { name = "x"; }; diskSize = 1024; }`, "nixlayer.exportImage: diskSize is not supported: nixlayer runs no VM: not needed"},
		{"buildVMMemorySize", `nl.buildImage { name = "x"; buildVMMemorySize = 512; }`, "buildVMMemorySize is not supported: nixlayer runs no VM: not needed"},
		{"layeringPipeline in buildImage", `nl.buildImage { name = "x"; layeringPipeline = [ ]; }`, "layeringPipeline is an argument of buildLayeredImage, buildLayeredImageWithNixDb, streamLayeredImage, not of buildImage"},
		{"layeringPipeline in a set", `nl.buildImageSet { images.a = { layeringPipeline = [ [ "popularity_contest" ] ]; }; }`, "nixlayer.buildImageSet: image a: layeringPipeline is not for an image of a set"},
		{"enableFakechroot of buildImage", `nl.buildImage { name = "x"; enableFakechroot = true; }`, "enableFakechroot is an argument of buildLayeredImage, buildLayeredImageWithNixDb, streamLayeredImage, not of buildImage"},
		{"keepContentsDirlinks", `nl.buildImage { name = "x"; keepContentsDirlinks = true; }`, "keepContentsDirlinks = true is not supported"},
		{"compressor", `nl.buildLayeredImage { name = "x"; compressor = "xz"; }`, `unknown compressor "xz": use gz, zstd or none`},
		{"mtime", `nl.buildLayeredImage { name = "x"; mtime = "yesterday"; }`, `mtime = "yesterday" is not a number of seconds, an ISO-8601 date`},
		{"undefined config.User", `nl.buildLayeredImage { name = "x"; users = [ { name = "app"; uid = 1000; } ]; config.User = "ghost"; }`,
			`config.User = "ghost": user "ghost" is not defined in the image`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, err := testutil.NixBuildErr(t, c.expr)
			if err == nil {
				t.Fatalf("built %s", out)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", stderr, c.want)
			}
		})
	}
}

// TestHelpers: fakeNss, binSh, usrBinEnv and caCertificates without
// nixpkgs (packages given as arguments), in an image.
func TestHelpers(t *testing.T) {
	outs := nixBuildAll(t, []string{
		`(nl.buildLayeredImage { name = "helpers"; contents = [ nl.fakeNss (nl.binSh { shell = "${testPkgs.bbBin}/bin/sh"; })
		   (nl.usrBinEnv { env = "${testPkgs.bbBin}/bin/env"; }) (nl.caCertificates { cacert = testPkgs.hello; }) ]; })`,
	})
	rootfs := testutil.Unpack(t, outs[0])
	if out := testutil.Run(t, "", nil, "chroot", "--userspec=65534:65534", rootfs, "/usr/bin/env", "sh", "-c", "whoami; while read -r l; do echo \"$l\"; done < /etc/group"); out != "nobody\nroot:x:0:\nnobody:x:65534:\n" {
		t.Errorf("whoami and /etc/group in the image: %q", out)
	}
	for _, p := range []string{"etc/nsswitch.conf", "var/empty", "etc/ssl/certs/ca-bundle.crt", "etc/ssl/certs/ca-certificates.crt", "etc/pki/tls/certs/ca-bundle.crt"} {
		if _, err := os.Lstat(filepath.Join(rootfs, p)); err != nil {
			t.Errorf("/%s: %v", p, err)
		}
	}
	_, stderr, err := testutil.NixBuildErr(t, `nl.buildImage { name = "x"; contents = [ nl.binSh ]; }`)
	if err == nil || !strings.Contains(stderr, "nixlayer.binSh: give `pkgs` to the nixlayer import, or call it with its packages: nl.binSh { shell = …; }") {
		t.Errorf("nl.binSh without pkgs: %v\n%s", err, stderr)
	}
}

// TestStreamRepoTag: a stream script takes dockerTools' -t/--repo_tag.
func TestStreamRepoTag(t *testing.T) {
	script := testutil.NixBuild(t, `nl.streamLayeredImage { name = "repotag"; tag = "v1"; contents = [ testPkgs.hello ]; }`)
	dir := t.TempDir()
	for _, c := range []struct {
		args   []string // -o FILE is added after them, or before them with oFirst
		oFirst bool
		want   string
	}{
		{nil, false, "repotag:v1"},
		{[]string{"-t", "other:dev"}, false, "other:dev"},
		{[]string{"--repo_tag=reg.example/x:y"}, false, "reg.example/x:y"},
		{[]string{"--repo_tag", "z:1"}, true, "z:1"},
	} {
		t.Run(c.want, func(t *testing.T) {
			file := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(c.want)+".tar")
			args := append(append([]string{}, c.args...), "-o", file)
			if c.oFirst {
				args = append([]string{"-o", file}, c.args...)
			}
			testutil.Run(t, "", nil, script, args...)
			if b := readImage(t, file); strings.Join(b.tags, " ") != c.want {
				t.Errorf("RepoTags %q, want [%s]", b.tags, c.want)
			}
		})
	}
	t.Run("docker load", func(t *testing.T) {
		if !testutil.DockerAvailable() {
			t.Skip("SKIP: no Docker engine answers `docker info`")
		}
		tag := fmt.Sprintf("repotag-test-%d:dev", os.Getpid())
		out := testutil.Run(t, "", nil, "sh", "-c", fmt.Sprintf("%q -t %s | docker load", script, tag))
		t.Cleanup(func() { testutil.RunErr("", nil, "docker", "rmi", "-f", tag) })
		if !strings.Contains(out, "Loaded image: "+tag) {
			t.Errorf("docker load printed %q, want it to load %s", out, tag)
		}
	})
	if _, stderr, err := testutil.RunErr("", nil, script, "-t", "Not A Tag"); err == nil || !strings.Contains(stderr, `--repo_tag "Not A Tag" is not an image reference`) {
		t.Errorf("-t 'Not A Tag': %v\n%s", err, stderr)
	}
}

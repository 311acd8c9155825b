package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type exampleKind int

const (
	kindImage  exampleKind = iota // a docker-archive
	kindStream                    // a stream script
	kindTar                       // a plain tar (exportImage)
)

// exampleCase is one of nixpkgs' dockerTools examples (tests/nix/examples.nix)
// with the checks nixos/tests/docker-tools.nix makes of it.
type exampleCase struct {
	name    string // attribute of examples.nix, as in nixpkgs
	kind    exampleKind
	chroot  bool   // run by chroot even when Docker answers (Docker 20.10 cannot load zstd)
	cannot  string // not expressible without nixpkgs or a VM
	note    string // a part of the NixOS test that cannot be expressed
	wantErr string // the build must fail with this in its error
	check   func(im *exImage)
}

const epochPlusOne = "1970-01-01T00:00:01Z"

func checkCreatedNow(im *exImage) {
	created, err := time.Parse(time.RFC3339Nano, im.cfg().Created)
	if err != nil || im.cfg().Created == epochPlusOne || time.Since(created) > 24*time.Hour {
		im.c.Errorf("created %q (%v), want the time of the build", im.cfg().Created, err)
	}
}

func checkEnvInherited(im *exImage) {
	out, err := im.run("env")
	env := strings.Split(out, "\n")
	for _, want := range []string{"FROM_PARENT=true", "FROM_CHILD=true", "LAST_LAYER=child"} {
		if err != nil || !slices.Contains(env, want) {
			im.c.Errorf("env in the container (%v) lacks %s:\n%s", err, want, out)
		}
	}
	n := 0
	for _, e := range im.cfg().Config.Env {
		if strings.HasPrefix(e, "LAST_LAYER=") {
			n++
		}
	}
	if n != 1 {
		im.c.Errorf("config Env %q has %d LAST_LAYER entries, want 1", im.cfg().Config.Env, n)
	}
}

func checkNoTag(attr string) func(im *exImage) {
	return func(im *exImage) {
		name, tag := imageTagAttr(im.c, attr)
		if got := im.manifest[0].RepoTags; len(got) != 1 || got[0] != name+":"+tag {
			im.c.Errorf("RepoTags %q, want [%s:%s] (imageName:imageTag)", got, name, tag)
		}
		im.loadedAs(name + ":" + tag)
		im.mustRun("bash", "bash", "--version")
	}
}

func checkLayers(im *exImage, n int) {
	if got := len(im.cfg().RootFS.DiffIDs); got != n {
		im.c.Errorf("%d layers, want %d", got, n)
	}
}

func checkTags(im *exImage, want ...string) {
	var got []string
	for _, m := range im.manifest {
		got = append(got, m.RepoTags...)
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			im.c.Errorf("RepoTags %q lack %s", got, w)
		}
	}
}

// checkCompression checks that every layer of the image's archive is
// compressed as want says ("zstd", "none"), by its first bytes.
func checkCompression(im *exImage, want string) {
	for i, got := range readImage(im.c.t, im.archive).compression {
		if got != want {
			im.c.Errorf("layer %d is %s, want %s", i, got, want)
		}
	}
}

func checkHelloLayeredExtra(im *exImage) {
	im.mustRun("Hello from nixlayer")
	im.mustRun("(extraCommand)", "cat", "extraCommands")
}

var exampleCases = []exampleCase{
	{name: "bash", check: func(im *exImage) {
		if im.cfg().Created != epochPlusOne {
			im.c.Errorf("created %q, want %s", im.cfg().Created, epochPlusOne)
		}
		checkTags(im, "bash:latest")
		if name, tag := imageTagAttr(im.c, "bash"); name+":"+tag != "bash:latest" {
			im.c.Errorf("imageName:imageTag %s:%s, want bash:latest", name, tag)
		}
		im.loadedAs("bash:latest")
		im.mustRun("bash", "bash", "--version")
	}},
	{name: "redis", check: func(im *exImage) {
		if fi := im.mode("data"); !fi.IsDir() {
			im.c.Errorf("/data is %v, want a directory", fi)
		}
		if im.cfg().Config.WorkingDir != "/data" {
			im.c.Errorf("WorkingDir %q", im.cfg().Config.WorkingDir)
		}
		im.mustRun("redis-cli", "redis-cli", "--version")
		im.mustRun("bash", "bash", "--version")
		// The server starts (in /data, made by runAsRoot) and answers.
		if line := im.serveTCP("6379"); im.useDocker() && !strings.Contains(line, "+PONG") {
			im.c.Errorf("the redis stand-in answered %q, want +PONG", line)
		}
	}},
	{name: "nginx", check: func(im *exImage) {
		// What the server needs: the nginx.conf of its Cmd and the web root.
		conf := im.cfg().Config.Cmd[len(im.cfg().Config.Cmd)-1]
		if text, err := im.file(conf); err != nil || !strings.Contains(text, "listen 80;") {
			im.c.Errorf("the Cmd's nginx.conf is not in the image: %v", err)
		}
		if body := im.serve("80"); im.useDocker() && !strings.Contains(body, "Hello from NGINX") {
			im.c.Errorf("GET / gave %q", body)
		}
	}},
	{name: "nixFromDockerHub", cannot: "pulls nixos/nix from Docker Hub (no network); pullImage is tested against a local registry"},
	{name: "testNixFromDockerHub", cannot: "pulls nixos/nix from Docker Hub with invalidateFetcherByDrvHash (nixpkgs)"},
	{name: "editors", check: func(im *exImage) {
		im.mustRun("/bin/nano", "ls", "/bin/ls", "/bin/bash", "/bin/emacs", "/bin/vim", "/bin/nano")
		for _, b := range []string{"emacs", "vim", "nano"} {
			im.mustRun(b, b)
		}
	}},
	{name: "nix", note: "`nix-store -qR ${nix}` needs a real Nix in the image", check: func(im *exImage) {
		im.mustRun("", "bash", "-c", "test nix = $(readlink "+nixStandin(im)+"/bin/nix-daemon)")
		if _, err := im.file("nix/var/nix/db/db.sqlite"); err != nil {
			im.c.Errorf("no Nix database: %v", err)
		}
	}},
	{name: "onTopOfPulledImage", cannot: "its base is pulled from Docker Hub (no network)"},
	{name: "runAsRootExtraCommands", check: func(im *exImage) {
		im.mustRun("(extraCommand)", "cat", "extraCommands")
		im.mustRun("(runAsRoot)", "cat", "runAsRoot")
	}},
	{name: "unstableDate", check: checkCreatedNow},
	{name: "layered-image", check: checkHelloLayeredExtra},
	{name: "layered-on-top", check: func(im *exImage) { im.mustRun("hello") }},
	{name: "layered-on-top-layered", check: func(im *exImage) { im.mustRun("hello") }},
	{name: "runAsRootParentImage", check: func(im *exImage) {
		// The NixOS test runs ls; the bash stand-in image has only bash.
		im.mustRun("", "bash", "-c", "test -f /example-file")
		if _, err := im.file("example-file"); err != nil {
			im.c.Errorf("/example-file is not in the image: %v", err)
		}
	}},
	{name: "layersOrder", check: func(im *exImage) {
		for _, l := range []string{"layer1", "layer2", "layer3"} {
			im.mustRun(l, "cat", "/tmp/"+l)
		}
		checkLayers(im, 3)
	}},
	{name: "environmentVariables", check: checkEnvInherited},
	{name: "environmentVariablesLayered", check: checkEnvInherited},
	{name: "another-layered-image", check: func(im *exImage) {
		// Shares the hello layer with layered-image.
		other := buildExample(im.c, exampleCase{name: "layered-image"})
		var shared bool
		for _, d := range im.cfg().RootFS.DiffIDs {
			shared = shared || slices.Contains(other.cfg().RootFS.DiffIDs, d)
		}
		if !shared {
			im.c.Errorf("no layer shared with layered-image: %q and %q", im.cfg().RootFS.DiffIDs, other.cfg().RootFS.DiffIDs)
		}
		im.mustRun("Hello from nixlayer")
	}},
	{name: "two-layered-image", check: func(im *exImage) {
		checkLayers(im, 2)
		im.mustRun("Hello from nixlayer")
	}},
	{name: "bulk-layer", check: func(im *exImage) { im.mustRun("/bin/hello", "ls", "/bin/hello") }},
	{name: "layered-bulk-layer", check: func(im *exImage) {
		im.mustRun("/bin/hello", "ls", "/bin/hello")
		checkLayers(im, 4)
	}},
	{name: "no-store-paths", check: func(im *exImage) {
		im.mustRun("bin", "ls", "/")
		// Our busybox stand-in is not self-referential: no store at all
		// (nixpkgs' pkgsStatic.busybox is, and is its only store path);
		// hello, which extraCommands ran, is not in the image.
		if paths := readImage(im.c.t, im.archive).storePaths(); len(paths) != 0 {
			im.c.Errorf("the image holds store paths %v, want none (hello only ran in extraCommands)", paths)
		}
	}},
	{name: "nixLayered", note: "`nix-store -qR` needs a real Nix in the image", check: func(im *exImage) {
		im.mustRun("", "bash", "-c", "test nix = $(readlink "+nixStandin(im)+"/bin/nix-daemon)")
		if _, err := im.file("nix/var/nix/db/db.sqlite"); err != nil {
			im.c.Errorf("no Nix database: %v", err)
		}
	}},
	{name: "filesInStore", note: "`nix-store --verify --check-contents` needs a real Nix in the image", check: func(im *exImage) {
		im.mustRun("some data")
	}},
	{name: "unstableDateLayered", check: checkCreatedNow},
	{name: "bashNoTag", check: checkNoTag("bashNoTag")},
	{name: "bashNoTagLayered", check: checkNoTag("bashNoTagLayered")},
	{name: "bashNoTagStreamLayered", kind: kindStream, check: checkNoTag("bashNoTagStreamLayered")},
	{name: "bashLayeredWithUser", check: func(im *exImage) {
		// The newer NixOS test wants 755 (the older one 555).
		im.mustRunIn(0, []string{"-u", "somebody"}, "755\n755\n", "bash", "-c", "stat -c %a /nix /nix/store")
	}},
	{name: "cross", cannot: "cross compilation needs nixpkgs' pkgsCross; architecture is checked by build-image-with-architecture"},
	{name: "layeredStoreSymlink", check: func(im *exImage) {
		im.mustRun("", "bash", "-c", "test -L "+symlinkStandin(im))
	}},
	{name: "prefixedImage", check: func(im *exImage) {
		checkTags(im, "registry-1.docker.io/image:latest")
		im.loadedAs("registry-1.docker.io/image:latest")
	}},
	{name: "prefixedLayeredImage", check: func(im *exImage) {
		checkTags(im, "registry-1.docker.io/layered-image:latest")
		im.loadedAs("registry-1.docker.io/layered-image:latest")
		// Beyond the NixOS test: dockerTools puts the closure of config in
		// the image, so its Cmd runs.
		im.mustRun("Hello from nixlayer")
	}},
	{name: "layeredImageWithFakeRootCommands", check: func(im *exImage) {
		im.mustRun("1000", "sh", "-c", "stat -c %u /home/alice | grep -E ^1000$")
		im.mustRun("hello", "/hello/bin/layeredImageWithFakeRootCommands-hello")
	}},
	{name: "mergedBashAndRedis", // redis; tests/merge_test.go merges stand-ins
		check: func(im *exImage) {
			checkTags(im, "bash:latest", "redis:latest")
			im.mustRunIn(0, nil, "bash", "bash", "--version")
			im.mustRunIn(1, nil, "redis-cli", "redis-cli", "--version")
		}},
	{name: "mergedBashNoTagAndRedis", // redis; tests/merge_test.go merges stand-ins
		check: func(im *exImage) {
			name, tag := imageTagAttr(im.c, "bashNoTag")
			checkTags(im, name+":"+tag, "redis:latest")
			im.mustRunIn(0, nil, "bash", "bash", "--version")
			im.mustRunIn(1, nil, "redis-cli", "redis-cli", "--version")
		}},
	{name: "mergedBashFakeRoot", // tests/merge_test.go checks the owner with users
		check: func(im *exImage) {
			im.mustRunIn(1, nil, "1000", "sh", "-c", "stat -c %u /home/alice | grep -E ^1000$")
		}},
	{name: "mergeVaryingCompressor", // redis; tests/merge_test.go merges stand-ins
		check: func(im *exImage) {
			checkTags(im, "redis:latest", "bash-uncompressed:latest", "bash-zstd:latest")
		}},
	{name: "helloOnRoot", kind: kindStream, check: func(im *exImage) { im.mustRun("Hello") }},
	{name: "helloOnRootNoStore", kind: kindStream, check: checkNoStore},
	{name: "helloOnRootNoStoreFakechroot", kind: kindStream, check: checkNoStore},
	{name: "exportBash", kind: kindTar, check: func(im *exImage) {
		_, names, err := archiveFiles(im.out)
		if err != nil || !slices.Contains(names, "./bin/bash") {
			im.c.Errorf("exported tar (%v) has no ./bin/bash among %d entries (first %q)", err, len(names), names[:min(len(names), 3)])
		}
	}},
	{name: "bashUncompressed", check: func(im *exImage) { im.mustRun("bash", "bash", "--version") }},
	{name: "bashZstdCompressed", chroot: true, check: func(im *exImage) { im.mustRun("bash", "bash", "--version") }},
	{name: "bashLayeredUncompressed", check: func(im *exImage) {
		checkCompression(im, "none")
		im.mustRun("bash", "bash", "--version")
	}},
	{name: "bashLayeredZstdCompressed", chroot: true, check: func(im *exImage) {
		checkCompression(im, "zstd")
		im.mustRun("bash", "bash", "--version")
	}},
	{name: "nginxStream", kind: kindStream, check: func(im *exImage) {
		if body := im.serve("80"); im.useDocker() && !strings.Contains(body, "Hello from NGINX") {
			im.c.Errorf("GET / gave %q", body)
		}
		checkTags(im, "nginx-container:latest")
	}},
	{name: "nix-layered", kind: kindStream, note: "`nix-store -q --references /bin/bash` needs a real Nix in the image", check: func(im *exImage) {
		im.mustRun("bash", "bash", "--version")
		if _, err := im.file("nix/var/nix/db/db.sqlite"); err != nil {
			im.c.Errorf("no Nix database: %v", err)
		}
	}},
	{name: "imageViaFakeChroot", kind: kindStream, check: func(im *exImage) { im.mustRun("Hello") }},
	{name: "etc", kind: kindStream, check: func(im *exImage) { im.mustRun("localhost") }},
	{name: "chownTestImage", kind: kindStream, check: func(im *exImage) { im.mustRun("12345:12345") }},
	{name: "layersUnpackOrder", check: func(im *exImage) { im.mustRun("abc", "cat", "/layer-order") }},
	{name: "build-image-with-path", check: checkNixPathFile},
	{name: "layered-image-with-path", kind: kindStream, check: checkNixPathFile},
	{name: "build-image-with-architecture", check: func(im *exImage) {
		if a := im.cfg().Architecture; a != "arm64" {
			im.c.Errorf("architecture %q, want arm64", a)
		}
		im.load()
	}},
	{name: "layered-image-with-architecture", kind: kindStream, check: func(im *exImage) {
		if a := im.cfg().Architecture; a != "arm64" {
			im.c.Errorf("architecture %q, want arm64", a)
		}
		im.load()
	}},
	{name: "image-with-certs", check: func(im *exImage) {
		for _, f := range []string{"/etc/ssl/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"} {
			im.mustRun("", "test", "-r", f)
		}
	}},
	// nixlayer refuses a config.User the image does not define (Docker
	// cannot start such an image); the NixOS test runs chownTestImage instead.
	{name: "nonRootTestImage", kind: kindStream, wantErr: `config.User = "user": user "user" is not defined in the image`},
	{name: "repeatedLayerBase", check: func(im *exImage) { checkLayers(im, 2) }},
	{name: "repeatedLayerTestImage", check: func(im *exImage) {
		im.mustRun("", "/bin/bash", "-c", "exit 0")
	}},
	{name: "nix-shell", cannot: "streamNixShellImage needs nixpkgs' stdenv and a real Nix in the image"},
	{name: "misspeltContents", wantErr: "unknown argument contnets; did you mean contents?"},
}

// checkNoStore: without the store the image's hello cannot run; with the
// host's store mounted it can.
func checkNoStore(im *exImage) {
	if out, err := im.run(); err == nil && strings.Contains(out, "Hello") {
		im.c.Errorf("hello ran without the store in the image: %q", out)
	}
	if im.useDocker() {
		im.mustRunIn(0, []string{"--volume", "/nix/store:/nix/store:ro"}, "Hello")
	}
	// "Ensure ZERO paths are added to the store"
	if ents, err := os.ReadDir(filepath.Join(im.root(), "nix", "store")); err == nil && len(ents) > 0 {
		im.c.Errorf("the image has %d store paths (first %s), want none", len(ents), ents[0].Name())
	}
}

// nixStandin is the store path of the nix stand-in, read from the image's
// /bin/nix link.
func nixStandin(im *exImage) string {
	out, err := im.run("readlink", "/bin/nix")
	if err != nil {
		im.c.Fatalf("readlink /bin/nix: %v %s", err, out)
	}
	return strings.TrimSuffix(strings.TrimSpace(out), "/bin/nix")
}

// symlinkStandin is the store path of layeredStoreSymlink's passthru.symlink.
func symlinkStandin(im *exImage) string {
	file := exNix(im.c.t, "layeredStoreSymlink") + ".passthru.symlink"
	out, errOut, err := runNixBuild(im.c.t, file)
	if err != nil {
		im.c.Fatalf("building passthru.symlink: %v\n%s", err, errOut)
	}
	return out
}

// TestDockerToolsExamples builds nixpkgs' dockerTools examples, ported to
// nixlayer, and checks each as the NixOS test does. Cases that need
// nixpkgs or the network say why they cannot run. Commands run in Docker when `docker info` answers, else (or with
// NIXLAYER_EXAMPLES_NO_DOCKER=1) by chroot into the umoci-unpacked root.
func TestDockerToolsExamples(t *testing.T) {
	for _, e := range exampleCases {
		t.Run(e.name, func(t *testing.T) {
			if e.cannot != "" {
				t.Logf("cannot: %s", e.cannot)
				return
			}
			if e.note != "" {
				t.Logf("not checked: %s", e.note)
			}
			for _, m := range runExample(t, e) {
				t.Error(m)
			}
		})
	}
}

// checkNixPathFile checks that the file of a Nix path given in contents
// (copyToRoot) is at the image root, with its content.
func checkNixPathFile(im *exImage) {
	got, err := im.file("hello.txt")
	want, rerr := os.ReadFile(filepath.Join("nix", "test-dummy", "hello.txt"))
	if err != nil || rerr != nil || got != string(want) {
		im.c.Errorf("/hello.txt of the image = %q (%v), want %q (%v)", got, err, want, rerr)
	}
}

// runExample builds one case and runs its checks, returning the failures.
func runExample(t *testing.T, e exampleCase) (errs []string) {
	c := &exCheck{t: t}
	var im *exImage
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exStop); !ok {
				panic(r)
			}
		}
		if im != nil {
			im.cleanup()
		}
		errs = c.errs
	}()
	if e.wantErr != "" {
		out, errOut, err := runNixBuild(t, exNix(t, e.name))
		if err == nil || !strings.Contains(errOut, e.wantErr) {
			c.Errorf("nix-build %s: %v (output %s); want an error naming %q:\n%s", e.name, err, out, e.wantErr, lastLines(errOut, 4))
		}
		return
	}
	im = buildExample(c, e)
	e.check(im)
	return
}

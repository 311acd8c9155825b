package tests

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// exCheck collects the failures of one example case, reported together
// when the case ends (a fatal check stops the case, not the test).
type exCheck struct {
	t    *testing.T
	errs []string
}

type exStop struct{}

// Errorf records a failure.
func (c *exCheck) Errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// Fatalf records a failure and ends the case.
func (c *exCheck) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	panic(exStop{})
}

// exConfig is the part of an image config the checks read.
type exConfig struct {
	Created      string
	Architecture string
	Config       struct {
		Env        []string
		Cmd        []string
		Entrypoint []string
		WorkingDir string
		User       string
		Volumes    map[string]struct{}
	}
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// exImage is one built example: the Nix output, its docker-archive and
// what the checks ask of it.
type exImage struct {
	c        *exCheck
	out      string // the Nix output path
	archive  string // a docker-archive (the output, or a stream's output)
	manifest dockerManifest
	configs  []exConfig // one per manifest entry
	rootfs   string     // umoci-unpacked root of the first image, lazily
	loaded   []string   // docker image IDs loaded, removed at the end
	chroot   bool       // run by chroot even when Docker answers
}

// archiveFiles reads the members of a tar (gzip or not) into memory; names
// lose a leading "./".
func archiveFiles(path string) (map[string][]byte, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gunzip %s: %w", path, err)
		}
		r = zr
	}
	tr := tar.NewReader(r)
	files := map[string][]byte{}
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, names, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading tar %s: %w", path, err)
		}
		names = append(names, h.Name)
		if h.Typeflag == tar.TypeReg && h.Size < 1<<20 {
			b, _ := io.ReadAll(tr)
			files[strings.TrimPrefix(h.Name, "./")] = b
		}
	}
}

// readArchive fills manifest and configs from a docker-archive.
func (im *exImage) readArchive() {
	files, _, err := archiveFiles(im.archive)
	if err != nil {
		im.c.Fatalf("%v", err)
	}
	if err := json.Unmarshal(files["manifest.json"], &im.manifest); err != nil || len(im.manifest) == 0 {
		im.c.Fatalf("manifest.json of %s: %v (%d images)", im.archive, err, len(im.manifest))
	}
	for _, m := range im.manifest {
		var cfg exConfig
		if err := json.Unmarshal(files[m.Config], &cfg); err != nil {
			im.c.Fatalf("config %s of %s: %v", m.Config, im.archive, err)
		}
		im.configs = append(im.configs, cfg)
	}
}

// cfg is the config of the first image.
func (im *exImage) cfg() exConfig { return im.configs[0] }

// id is Docker's image ID of the i-th image (its config digest).
func (im *exImage) id(i int) string {
	c := strings.TrimSuffix(strings.TrimPrefix(im.manifest[i].Config, "blobs/sha256/"), ".json")
	return "sha256:" + strings.TrimPrefix(c, "sha256:")
}

// useDocker tells whether commands run in Docker or by chroot.
// NIXLAYER_EXAMPLES_NO_DOCKER=1 forces chroot, to test that path here.
func (im *exImage) useDocker() bool {
	return !im.chroot && os.Getenv("NIXLAYER_EXAMPLES_NO_DOCKER") != "1" && testutil.DockerAvailable()
}

// load loads the archive into Docker once.
func (im *exImage) load() {
	if im.loaded != nil || !im.useDocker() {
		return
	}
	out, errOut, err := testutil.RunErr("", nil, "docker", "load", "-i", im.archive)
	if err != nil {
		im.c.Fatalf("docker load -i %s: %v\n%s%s", im.archive, err, out, errOut)
	}
	for i := range im.manifest {
		im.loaded = append(im.loaded, im.id(i))
	}
}

// run runs args (or the image's Entrypoint and Cmd when args is empty) in
// the i-th image with docker run options opts, returning the output.
func (im *exImage) runIn(i int, opts []string, args ...string) (string, error) {
	if im.useDocker() {
		im.load()
		all := append(append([]string{"run", "--rm"}, opts...), im.id(i))
		out, errOut, err := testutil.RunErr("", nil, "docker", append(all, args...)...)
		return out + errOut, err
	}
	return im.chrootRun(args)
}

// run is runIn for the first image without options.
func (im *exImage) run(args ...string) (string, error) { return im.runIn(0, nil, args...) }

// mustRun runs and records a failure when the command fails or its output
// lacks want.
func (im *exImage) mustRun(want string, args ...string) {
	im.mustRunIn(0, nil, want, args...)
}

func (im *exImage) mustRunIn(i int, opts []string, want string, args ...string) {
	out, err := im.runIn(i, opts, args...)
	if err != nil || !strings.Contains(out, want) {
		im.c.Errorf("run %q %q: %v; output %q, want it to contain %q", opts, args, err, out, want)
	}
}

// chrootRun runs a command of the image by chroot into its umoci-unpacked
// root, with the config's Env and WorkingDir, when no Docker answers.
func (im *exImage) chrootRun(args []string) (string, error) {
	root := im.root()
	cfg := im.cfg().Config
	if len(args) == 0 {
		args = append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	} else if len(cfg.Entrypoint) > 0 {
		args = append(append([]string{}, cfg.Entrypoint...), args...)
	}
	if len(args) == 0 {
		return "", fmt.Errorf("no command")
	}
	env := append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, cfg.Env...)
	exe := args[0]
	if !strings.Contains(exe, "/") {
		for _, d := range []string{"/bin", "/usr/bin", "/sbin", "/usr/sbin"} {
			if _, err := os.Lstat(filepath.Join(root, d, exe)); err == nil {
				exe = d + "/" + exe
				break
			}
		}
	}
	cmd := exec.Command(exe, args[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	if cfg.WorkingDir != "" {
		cmd.Dir = cfg.WorkingDir
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: numericUser(cfg.User)}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// numericUser is the credential of a config.User "UID[:GID]", or nil (run
// as root) for any other, named, user.
func numericUser(user string) *syscall.Credential {
	u, g, _ := strings.Cut(user, ":")
	uid, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return nil
	}
	gid, err := strconv.ParseUint(g, 10, 32)
	if err != nil {
		gid = uid
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// root unpacks the first image with skopeo and umoci, once.
func (im *exImage) root() string {
	if im.rootfs != "" {
		return im.rootfs
	}
	dir := im.c.t.TempDir()
	ref := "docker-archive:" + im.archive
	if len(im.manifest) > 1 {
		ref += ":" + im.manifest[0].RepoTags[0]
	}
	if _, e, err := testutil.RunErr("", nil, "skopeo", "copy", "-q", ref, "oci:"+dir+"/oci:img"); err != nil {
		im.c.Fatalf("skopeo copy %s: %v\n%s", ref, err, e)
	}
	if _, e, err := testutil.RunErr("", nil, "umoci", testutil.UnpackArgs("--image", dir+"/oci:img", dir+"/bundle")...); err != nil {
		im.c.Fatalf("umoci unpack: %v\n%s", err, e)
	}
	im.rootfs = filepath.Join(dir, "bundle", "rootfs")
	return im.rootfs
}

// file reads a file of the unpacked image (no symlinks followed outside).
func (im *exImage) file(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(im.root(), name))
	return string(b), err
}

// owner is `stat -c %u` of a path of the unpacked image.
func (im *exImage) owner(name string) int {
	fi, err := os.Lstat(filepath.Join(im.root(), name))
	if err != nil {
		im.c.Fatalf("unpacked image: %v", err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

// mode is the permission bits of a path of the unpacked image.
func (im *exImage) mode(name string) os.FileMode {
	fi, err := os.Lstat(filepath.Join(im.root(), name))
	if err != nil {
		im.c.Fatalf("unpacked image: %v", err)
	}
	return fi.Mode()
}

// serve starts the image's Cmd detached with port published on the host
// and GETs / until it answers, returning the body.
func (im *exImage) serve(port string) string {
	addr, stop := im.start(port)
	if addr == "" {
		return ""
	}
	defer stop()
	var lastErr error
	for i := 0; i < 40; i++ {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		lastErr = err
		time.Sleep(250 * time.Millisecond)
	}
	im.c.Fatalf("GET http://%s/: %v; container log:\n%s", addr, lastErr, stop())
	return ""
}

// serveTCP starts the image's Cmd in Docker and returns the first line a
// connection to port reads ("" without Docker).
func (im *exImage) serveTCP(port string) string {
	addr, stop := im.start(port)
	if addr == "" {
		return ""
	}
	defer stop()
	var lastErr error
	for i := 0; i < 40; i++ {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			line, rerr := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if rerr == nil {
				return line
			}
			err = rerr
		}
		lastErr = err
		time.Sleep(250 * time.Millisecond)
	}
	im.c.Fatalf("reading from %s: %v; container log:\n%s", addr, lastErr, stop())
	return ""
}

// start runs the image's Cmd in Docker with port published on 127.0.0.1,
// and returns the address and a stop function that removes the container
// and returns its log. Without Docker it returns "".
func (im *exImage) start(port string) (string, func() string) {
	if !im.useDocker() {
		im.c.t.Log("no Docker: the server is not started")
		return "", nil
	}
	im.load()
	out, errOut, err := testutil.RunErr("", nil, "docker", "run", "-d", "-p", "127.0.0.1::"+port, im.id(0))
	if err != nil {
		im.c.Fatalf("docker run -d: %v\n%s", err, errOut)
	}
	ctr := strings.TrimSpace(out)
	stop := func() string {
		logs, logErr, _ := testutil.RunErr("", nil, "docker", "logs", ctr)
		testutil.RunErr("", nil, "docker", "rm", "-f", ctr)
		return logs + logErr
	}
	hostPort, _, err := testutil.RunErr("", nil, "docker", "port", ctr, port)
	if err != nil {
		im.c.Fatalf("the container stopped (docker port: %v); its log:\n%s", err, stop())
	}
	return strings.TrimSpace(strings.Split(hostPort, "\n")[0]), stop
}

// loadedAs checks that Docker knows the loaded image by ref (the NixOS
// test's `docker images --format ...` checks).
func (im *exImage) loadedAs(ref string) {
	if !im.useDocker() {
		return
	}
	im.load()
	out, errOut, err := testutil.RunErr("", nil, "docker", "image", "inspect", "--format", "{{.Id}}", ref)
	if err != nil || strings.TrimSpace(out) != im.id(0) {
		im.c.Errorf("docker image inspect %s: %v %s; id %q, want %s", ref, err, errOut, strings.TrimSpace(out), im.id(0))
	}
}

// cleanup removes what the case loaded into Docker.
func (im *exImage) cleanup() {
	for _, id := range im.loaded {
		testutil.RunErr("", nil, "docker", "rmi", "-f", id)
	}
}

// exNix is the Nix expression of an example attribute.
func exNix(t *testing.T, attr string) string {
	return fmt.Sprintf(`(import %s { inherit nl testPkgs; })."%s"`,
		filepath.Join(testutil.RepoRoot(t), "tests", "nix", "examples.nix"), attr)
}

// buildExample builds an example and reads its archive; a stream script is
// run into a file first.
func buildExample(c *exCheck, e exampleCase) *exImage {
	out, errOut, err := testutil.NixBuildErr(c.t, exNix(c.t, e.name))
	if err != nil {
		c.Fatalf("nix-build %s: %v\n%s", e.name, err, lastLines(errOut, 6))
	}
	im := &exImage{c: c, out: out, archive: out, chroot: e.chroot}
	switch e.kind {
	case kindStream:
		im.archive = filepath.Join(c.t.TempDir(), "stream.tar")
		if _, e2, err := testutil.RunErr("", nil, "sh", "-c", "\"$0\" > \"$1\"", out, im.archive); err != nil {
			c.Fatalf("running the stream script %s: %v\n%s", out, err, e2)
		}
	case kindTar:
		return im
	}
	im.readArchive()
	return im
}

// lastLines keeps the end of a long build log.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// imageTagAttr evaluates the imageName and imageTag attributes of an example.
func imageTagAttr(c *exCheck, attr string) (string, string) {
	file := testutil.NixExprFile(c.t, `let x = `+exNix(c.t, attr)+`; in x.imageName + ":" + x.imageTag`)
	out, errOut, err := testutil.RunErr("", testutil.NixEnv(), "nix-instantiate", "--eval", "--json", file)
	if err != nil {
		c.Fatalf("evaluating imageName and imageTag of %s: %v\n%s", attr, err, errOut)
	}
	var s string
	json.Unmarshal([]byte(out), &s)
	name, tag, _ := strings.Cut(s, ":")
	return name, tag
}

// runNixBuild builds expr, returning its output path and standard error.
func runNixBuild(t *testing.T, expr string) (string, string, error) {
	return testutil.NixBuildErr(t, expr)
}

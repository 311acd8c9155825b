package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// NixConfig is what Nix needs to build offline as root on these machines:
// no substituters, and no build users (root builds). The sandbox stays on,
// as on every Linux install, so that every end-to-end build proves that
// nixlayer needs nothing outside the store; TestSandboxIsOn checks it.
const NixConfig = "substituters =\nsandbox = true\nbuild-users-group ="

// RepoRoot returns the root of the nixlayer source tree.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	buildOut  []byte
)

// Binary builds nixlayer once per test process (static, CGO_ENABLED=0) and
// returns a directory holding bin/nixlayer, the shape nix/default.nix takes
// as its nixlayer argument.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nixlayer-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildDir = filepath.Join(dir, "nixlayer")
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(buildDir, "bin", "nixlayer"), ".")
		cmd.Dir = RepoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building nixlayer: %v\n%s", buildErr, buildOut)
	}
	return buildDir
}

// Exe returns the path of the nixlayer executable built by Binary.
func Exe(t testing.TB) string { return filepath.Join(Binary(t), "bin", "nixlayer") }

// RequireTool skips the test, saying why, when a command is not installed.
// The test setup (tests/setup.sh) installs every tool, so in CI this only
// skips for tools that truly cannot be had.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("SKIP: %s is not installed (tests/setup.sh installs it)", name)
	}
	return p
}

// DockerAvailable reports whether a Docker engine answers `docker info`.
func DockerAvailable() bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	return exec.Command("docker", "info").Run() == nil
}

// DockerLoad loads a docker-archive into Docker and returns the
// reference it loaded as, removed from Docker when the test ends.
func DockerLoad(t testing.TB, archive string) string {
	t.Helper()
	out := Run(t, "", nil, "docker", "load", "-i", archive)
	i := strings.LastIndex(out, "Loaded image: ")
	if i < 0 {
		t.Fatalf("docker load -i %s printed no image: %q", archive, out)
	}
	ref := strings.TrimSpace(out[i+len("Loaded image: "):])
	t.Cleanup(func() { RunErr("", nil, "docker", "rmi", "-f", ref) })
	return ref
}

// Run runs a command and fails the test with its output when it fails.
// It returns standard output.
func Run(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, errOut, err := RunErr(dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// RunErr runs a command and returns its standard output, standard error and
// error.
func RunErr(dir string, env []string, name string, args ...string) (string, string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// NixEnv is the environment for running Nix offline here.
func NixEnv() []string { return []string{"NIX_CONFIG=" + NixConfig} }

// NixBuild evaluates expr (a Nix expression) with nix-build and returns the
// output path. In expr, `nl` is bound to nix/default.nix imported with the
// freshly built binary, and `testPkgs` to tests/nix/pkgs.nix (busybox and
// small derivations made without nixpkgs). extraArgs go to nix-build.
func NixBuild(t testing.TB, expr string, extraArgs ...string) string {
	t.Helper()
	out, errOut, err := NixBuildErr(t, expr, extraArgs...)
	if err != nil {
		t.Fatalf("nix-build: %v\n%s", err, errOut)
	}
	return out
}

// NixBuildErr is NixBuild returning the error and standard error instead of
// failing the test.
func NixBuildErr(t testing.TB, expr string, extraArgs ...string) (string, string, error) {
	t.Helper()
	RequireTool(t, "nix-build")
	file := NixExprFile(t, expr)
	args := append([]string{file, "--no-out-link"}, extraArgs...)
	out, errOut, err := RunErr(filepath.Dir(file), NixEnv(), "nix-build", args...)
	return strings.TrimSpace(out), errOut, err
}

// NixExprFile writes expr to a file in a temporary directory with `nl` and
// `testPkgs` bound as NixBuild describes, and returns the file's path.
func NixExprFile(t testing.TB, expr string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "test.nix")
	root := RepoRoot(t)
	full := "let\n  nl = import " + filepath.Join(root, "nix") + " { nixlayer = builtins.path { path = " + Binary(t) + "; name = \"nixlayer\"; }; };\n" +
		"  testPkgs = import " + filepath.Join(root, "tests", "nix", "pkgs.nix") + " {};\nin\n" + expr + "\n"
	if err := os.WriteFile(file, []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// WantErr fails the test unless err is an error containing every one of
// want, or, when want is empty, err is nil.
func WantErr(t testing.TB, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error; want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

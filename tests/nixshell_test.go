package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// tty runs the image's command with a terminal (docker run -t), as the
// NixOS test's `docker run -it`. By chroot there is none.
var tty = []string{"-t"}

// checkBuildUser checks what every nix-shell image declares: the build
// user the container runs as, its /etc/passwd entry, the writable /build
// and the world-writable store, and that the derivation's output is not in
// the image (it is built in the container).
func checkBuildUser(home string) func(im *exImage) {
	return func(im *exImage) {
		cfg := im.cfg().Config
		if cfg.User != "1000:1000" || cfg.WorkingDir != "/build" {
			im.c.Errorf("config User %q WorkingDir %q, want 1000:1000 and /build", cfg.User, cfg.WorkingDir)
		}
		if passwd, err := im.file("etc/passwd"); err != nil || !strings.Contains(passwd, "nixbld:x:1000:1000:Build user:"+home+":/noshell\n") {
			im.c.Errorf("/etc/passwd %q (%v) lacks the build user with home %s", passwd, err, home)
		}
		if m := im.mode("nix/store"); m.Perm() != 0o777 || m&os.ModeSticky == 0 {
			im.c.Errorf("/nix/store mode %v, want drwxrwxrwt (1777)", m)
		}
		if m := im.mode("build"); !m.IsDir() || im.owner("build") != 1000 {
			im.c.Errorf("/build: mode %v owner %d, want a directory of uid 1000", m, im.owner("build"))
		}
		for _, e := range cfg.Env {
			if out, ok := strings.CutPrefix(e, "out="); ok {
				if _, err := os.Lstat(filepath.Join(im.root(), out)); err == nil {
					im.c.Errorf("the derivation's output %s is in the image", out)
				}
			}
		}
	}
}

// checkBuilds: buildDerivation, run by a `run` script, builds the
// derivation (genericBuild: unpack, build, install) as the build user into
// the store, and its hello runs.
func checkBuilds(im *exImage) {
	checkBuildUser("/build")(im) // first: by chroot the build writes into the unpacked image
	im.mustRunIn(0, tty, "Hello, world!")
}

// nixShellCases are nixpkgs' nix-shell examples
// (tests/nix/nixshell-examples.nix) with the checks of
// nixos/tests/docker-tools-nix-shell.nix, and more.
var nixShellCases = []exampleCase{
	{name: "nix-shell-basic", kind: kindStream, check: func(im *exImage) {
		checkBuildUser("/build")(im)
		// The NixOS test runs `bash`, found on the image's PATH; a chroot
		// finds no program by the config's PATH, so the shell is named.
		bash := im.cfg().Config.Cmd[0]
		im.mustRun("Hello, world!", bash, "-c", "buildDerivation && $out/bin/hello")
		// Running as the build user, whose uid /etc/passwd names.
		im.mustRun("1000 nixbld", bash, "-c", `source "$stdenv/setup"; echo "$(id -u) $(whoami)"`)
	}},
	{name: "nix-shell-hook", kind: kindStream, check: func(im *exImage) {
		im.mustRunIn(0, tty, "This is the shell hook!")
	}},
	{name: "nix-shell-inputs", kind: kindStream, check: func(im *exImage) {
		im.mustRunIn(0, tty, "Hello, world!")
	}},
	{name: "nix-shell-pass-as-file", kind: kindStream, check: func(im *exImage) {
		im.mustRunIn(0, tty, "this is a string")
		var path string
		for _, e := range im.cfg().Config.Env {
			if p, ok := strings.CutPrefix(e, "strPath="); ok {
				path = p
			}
			if strings.HasPrefix(e, "str=") {
				im.c.Errorf("config Env has %q: a passAsFile attribute is a file only", e)
			}
		}
		if got, err := im.file(path); path == "" || err != nil || got != "this is a string" {
			im.c.Errorf("strPath %q holds %q (%v), want \"this is a string\"", path, got, err)
		}
	}},
	{name: "nix-shell-run", kind: kindStream, check: func(im *exImage) {
		im.mustRunIn(0, tty, "This shell is not interactive")
	}},
	{name: "nix-shell-command", kind: kindStream, check: func(im *exImage) {
		if !im.useDocker() {
			im.c.t.Log("no Docker: no terminal to make the shell interactive")
			im.mustRun("This shell is not interactive")
			return
		}
		im.mustRunIn(0, tty, "This shell is interactive")
		// Without a terminal the shell is not interactive, as nix-shell
		// --command in a pipe, and still runs the command.
		im.mustRun("This shell is not interactive")
	}},
	{name: "nix-shell-writable-home", kind: kindStream, check: func(im *exImage) {
		im.mustRunIn(0, tty, "home directory is writable")
	}},
	{name: "nix-shell-nonexistent-home", kind: kindStream, check: func(im *exImage) {
		im.mustRunIn(0, tty, "home directory doesn't exist")
		checkBuildUser("/homeless-shelter")(im)
		if _, err := os.Lstat(filepath.Join(im.root(), "homeless-shelter")); err == nil {
			im.c.Errorf("/homeless-shelter is in the image")
		}
	}},
	{name: "nix-shell-build-derivation", kind: kindStream, check: checkBuilds},
	{name: "nix-shell-plain-derivation", kind: kindStream, check: func(im *exImage) {
		// What the builder got from Nix (the derivation built by Nix) is
		// what it gets in the container.
		drv := testutil.NixBuild(im.c.t, exNix(im.c.t, "nix-shell-plain-derivation")+".buildArgs.drv")
		want, err := os.ReadFile(filepath.Join(drv, "env"))
		if err != nil {
			im.c.Fatalf("the derivation built by Nix: %v", err)
		}
		if !strings.Contains(string(want), "flag=[1] off=[] none=[] n=[42] nums=[1 2 3]") {
			im.c.Errorf("Nix gave the builder %q", want)
		}
		checkBuildUser("/build")(im)
		im.mustRun(string(want))
	}},
	{name: "nix-shell-build-image", check: func(im *exImage) {
		if !strings.HasSuffix(im.out, "-hello-2.12-env.tar.gz") {
			im.c.Errorf("buildNixShellImage's output %s, want …-hello-2.12-env.tar.gz (dockerTools' name)", im.out)
		}
		// skopeo reads no gzipped docker-archive; docker load does.
		im.archive = filepath.Join(im.c.t.TempDir(), "image.tar")
		if _, errOut, err := testutil.RunErr("", nil, "sh", "-c", `gzip -dc "$0" > "$1"`, im.out, im.archive); err != nil {
			im.c.Fatalf("gunzip %s: %v\n%s", im.out, err, errOut)
		}
		checkBuilds(im)
	}},
}

// TestDockerToolsNixShell builds nixpkgs' nix-shell image examples with
// stand-ins of stdenv, mkShell and hello built by Debian's static bash and
// busybox, and runs each as the NixOS test does (in Docker when it
// answers, else by chroot as the build user).
func TestDockerToolsNixShell(t *testing.T) {
	requireBashStatic(t)
	for _, e := range nixShellCases {
		t.Run(e.name, func(t *testing.T) {
			for _, m := range runExample(t, e) {
				t.Error(m)
			}
		})
	}
}

// requireBashStatic: the stand-in stdenv's bash is Debian's bash-static,
// which tests/setup.sh installs.
func requireBashStatic(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/bash-static"); err != nil {
		t.Skipf("no /usr/bin/bash-static (Debian's bash-static, installed by tests/setup.sh): %v", err)
	}
}

// TestNixShellImageWithPkgs: imported with `pkgs`, the shell, /usr/bin/env
// and SSL_CERT_FILE come from its bashInteractive, coreutils and cacert;
// uid 0 runs as root with homeDirectory as root's home; the image is the
// same bytes built again without the sandbox.
func TestNixShellImageWithPkgs(t *testing.T) {
	requireBashStatic(t)
	var out string
	for _, m := range runExample(t, exampleCase{name: "nix-shell-with-pkgs", check: func(im *exImage) {
		out = im.out
		if !strings.HasSuffix(out, "-nix-shell-env.tar") {
			im.c.Errorf("output %s, want …-nix-shell-env.tar (compressor none)", out)
		}
		bash := testutil.NixBuild(t, "testPkgs.nixShell.bash")
		cacert := testutil.NixBuild(t, "testPkgs.cacert")
		cfg := im.cfg().Config
		if len(cfg.Cmd) == 0 || cfg.Cmd[0] != bash+"/bin/bash" {
			im.c.Errorf("Cmd %q, want pkgs.bashInteractive's bash %s/bin/bash", cfg.Cmd, bash)
		}
		if !slices.Contains(cfg.Env, "SSL_CERT_FILE="+cacert+"/etc/ssl/certs/ca-bundle.crt") {
			im.c.Errorf("config Env lacks SSL_CERT_FILE of pkgs.cacert: %q", cfg.Env)
		}
		got, err := im.run()
		for _, want := range []string{"uid=0 home=/root ~root=/root", "stand-in", "Hello, world!", "sh=" + bash + "/bin/bash"} {
			if err != nil || !strings.Contains(got, want) {
				im.c.Errorf("running the image: %v; output %q lacks %q", err, got, want)
			}
		}
	}}) {
		t.Error(m)
	}
	if out == "" {
		return
	}
	// The image and the stream script it is written from.
	expr := "let img = " + exNix(t, "nix-shell-with-pkgs") + "; in [ img img.stream ]"
	outs := strings.Fields(testutil.NixBuild(t, expr))
	checkSandboxOnAndOff(t, testutil.NixExprFile(t, expr), outs)
}

// TestNixShellImageBadInput: what is no derivation, contradictory or
// unsupported arguments are evaluation errors that name them.
func TestNixShellImageBadInput(t *testing.T) {
	for _, c := range []struct{ name, args, want string }{
		{"path", `drv = ./.;`, "drv must be a derivation (as derivation and mkDerivation make, with drvAttrs), not the path /"},
		{"string", `drv = "hello";`, `drv must be a derivation (as derivation and mkDerivation make, with drvAttrs), not the string "hello"`},
		{"set without drvAttrs", `drv = { name = "x"; outPath = "/nix/store/x"; };`, "drv must be a derivation (as derivation and mkDerivation make, with drvAttrs), not an attribute set without drvAttrs (attributes: name, outPath)"},
		{"integer", `drv = 3;`, "drv must be a derivation (as derivation and mkDerivation make, with drvAttrs), not a value of type int"},
		{"command and run", `drv = ns.mkShell { }; command = "a"; run = "b";`, "give command (run in an interactive shell, nix-shell --command) or run (non-interactive, nix-shell --run), not both"},
		{"structured attrs", `drv = ns.mkShell { __structuredAttrs = true; };`, "drv nix-shell uses __structuredAttrs, which nix-shell images do not support"},
		{"uid string", `drv = ns.hello; uid = "1000";`, `uid must be a non-negative integer, not "1000"`},
		{"negative gid", `drv = ns.hello; gid = -1;`, "gid must be a non-negative integer, not -1"},
		{"relative home", `drv = ns.hello; homeDirectory = "home";`, `homeDirectory must be an absolute path, not "home"`},
		{"misspelt", `drv = ns.hello; comand = "x";`, "unknown argument comand; did you mean command?"},
		{"compressor of a stream", `drv = ns.hello; compressor = "gz";`, "compressor is an argument of buildNixShellImage, not of streamNixShellImage"},
		{"no shell", `drv = ns.hello; shell = null;`, "give `shell` (a bash"},
		{"variable over 128 KiB", `drv = ns.mkShell { big = builtins.concatStringsSep "" (builtins.genList (_: "0123456789abcdef") 8192); };`,
			`attribute big of drv nix-shell is 131072 bytes, more than Linux passes in one environment variable (128 KiB with its name): give it as a file, passAsFile = [ "big" ]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			shell := `shell = "${ns.bash}/bin/bash"; `
			if strings.Contains(c.args, "shell = null") {
				shell = ""
			}
			file := testutil.NixExprFile(t, `let ns = testPkgs.nixShell; in nl.streamNixShellImage { `+shell+c.args+` }`)
			out, errOut, err := testutil.RunErr("", testutil.NixEnv(), "nix-instantiate", file)
			if err == nil || !strings.Contains(errOut, "nixlayer.streamNixShellImage: "+c.want) {
				t.Errorf("nix-instantiate: %v (%s); want an error containing %q:\n%s", err, out, c.want, lastLines(errOut, 6))
			}
		})
	}
}

// TestNixShellImagePassthru: the results carry dockerTools' imageName and
// imageTag, buildArgs as given, and .override, which calls the nix-shell
// function again (not streamLayeredImage) with the changed arguments.
func TestNixShellImagePassthru(t *testing.T) {
	file := testutil.NixExprFile(t, `let
	  ns = testPkgs.nixShell;
	  args = { drv = ns.hello; shell = "${ns.bash}/bin/bash"; tag = "V1"; };
	  s = nl.streamNixShellImage args;
	  b = nl.buildNixShellImage (args // { compressor = "zstd"; });
	  s2 = s.override { tag = "v2"; run = "true"; };
	in [ s.imageName s.imageTag s.isExe (builtins.attrNames s.buildArgs) s2.imageTag s2.buildArgs.run
	     b.imageName b.imageTag b.name b.stream.imageTag (b.override { compressor = "none"; }).name ]`)
	out := testutil.Run(t, "", testutil.NixEnv(), "nix-instantiate", "--eval", "--strict", "--json", file)
	want := `["hello-2.12-env","v1",true,["drv","shell","tag"],"v2","true","hello-2.12-env","v1","hello-2.12-env.tar.zst","v1","hello-2.12-env.tar"]`
	if strings.TrimSpace(out) != want {
		t.Errorf("passthrus %s, want %s", out, want)
	}
}

// TestNixShellImageEnv: the variables of the image's config are those Nix
// gives the builder: no args, no __ignoreNulls, and with it no null.
func TestNixShellImageEnv(t *testing.T) {
	for _, c := range []struct {
		name, attrs string
		has, lacks  []string
	}{
		{"ignoreNulls", `__ignoreNulls = true; gone = null; kept = false;`, []string{"kept=", "name=plain-env"}, []string{"gone=", "__ignoreNulls=", "args="}},
		{"nulls kept", `gone = null;`, []string{"gone="}, []string{"args="}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The stream's conf is a JSON description of the image
			// (README, "Passthrus"): its config.config.Env.
			conf := testutil.NixBuild(t, `let ns = testPkgs.nixShell; in (nl.streamNixShellImage {
			  drv = derivation { name = "plain-env"; system = builtins.currentSystem; builder = "${ns.bash}/bin/bash"; args = [ "-c" "true" ]; `+c.attrs+` };
			  shell = "${ns.bash}/bin/bash"; }).conf`)
			data, err := os.ReadFile(strings.TrimSpace(conf))
			if err != nil {
				t.Fatal(err)
			}
			var desc struct {
				Config struct{ Config struct{ Env []string } } `json:"config"`
			}
			if err := json.Unmarshal(data, &desc); err != nil {
				t.Fatalf("reading %s: %v", conf, err)
			}
			env := desc.Config.Config.Env
			for _, h := range c.has {
				if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, h) }) {
					t.Errorf("Env %q lacks %s…", env, h)
				}
			}
			for _, l := range c.lacks {
				if slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, l) }) {
					t.Errorf("Env %q has %s…", env, l)
				}
			}
		})
	}
}

//go:build linux

package rootscript

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// maxShown is how much of a failed script's output its error shows: the
// end of it.
const maxShown = 64 << 10

// Run runs a script as a fake root over the tree (see the package
// documentation), and records what it faked for Changes. A script that
// exits non-zero, is killed, or leaves processes running is an error that
// shows its output.
func (t *Tree) Run(ctx context.Context, opts Options) error {
	if !supported {
		return fmt.Errorf("%s: %w", opts.Name, ErrUnsupported)
	}
	argv, err := interpreter(opts)
	if err != nil {
		return err
	}
	if err := t.waitClock(t.latest); err != nil {
		return err
	}
	cfg := &config{Root: t.root, Chroot: opts.Chroot, Argv: argv}
	path := filepath.Dir(argv[0])
	if opts.Chroot {
		if err := t.mountPoints(cfg, opts.StoreDir); err != nil {
			return fmt.Errorf("%s: %w", opts.Name, err)
		}
		defer t.removeMountPoints()
		cfg.Dir, path = "/", "/bin:/usr/bin:/sbin:/usr/sbin:"+path
		cfg.Env = []string{"HOME=/root", "TMPDIR=/tmp"}
	} else {
		cfg.TmpDir = filepath.Join(t.work, "tmp")
		if err := os.Mkdir(cfg.TmpDir, 0o700); err != nil {
			return fmt.Errorf("%s: %w", opts.Name, err)
		}
		cfg.Dir = t.root
		cfg.Env = []string{"HOME=" + cfg.TmpDir, "TMPDIR=" + cfg.TmpDir}
	}
	cfg.Env = append(append(cfg.Env, "PATH="+path), opts.Env...)
	if v, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		cfg.Env = append(cfg.Env, "SOURCE_DATE_EPOCH="+v)
	}
	res, err := t.start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Name, err)
	}
	output, _ := os.ReadFile(filepath.Join(t.work, "output"))
	if err := res.failure(opts.Name, path, output); err != nil {
		return err
	}
	if opts.Log != nil {
		opts.Log.Write(output)
	}
	for _, r := range res.Records {
		if r.RemovedDir != "" {
			t.removed[r.RemovedDir] = true
			continue
		}
		id := fileID{r.Dev, r.Ino, r.Btime}
		a := t.attrs[id]
		if r.Uid != nil {
			a.Uid = *r.Uid
		}
		if r.Gid != nil {
			a.Gid = *r.Gid
		}
		if r.Device != 0 {
			a.Device, a.Major, a.Minor = r.Device, r.Major, r.Minor
		}
		t.attrs[id] = a
		t.faked[id] = true
	}
	return nil
}

// interpreter is the command that runs the script: its "#!" line's
// program (and one argument, as the kernel splits it) or the shell, with
// -c and the script.
func interpreter(opts Options) ([]string, error) {
	if line, ok := strings.CutPrefix(opts.Script, "#!"); ok {
		line, _, _ = strings.Cut(line, "\n")
		prog, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		argv := []string{prog}
		if arg = strings.TrimSpace(arg); arg != "" {
			argv = append(argv, arg)
		}
		if !filepath.IsAbs(prog) {
			return nil, fmt.Errorf("%s: the program of its #! line, %q, is not an absolute path", opts.Name, prog)
		}
		return append(argv, "-c", opts.Script), nil
	}
	if opts.Shell == "" {
		return nil, fmt.Errorf("%s needs a shell to run it: give `shell` (e.g. \"${bash}/bin/bash\"), start the script with a #! line, or give `pkgs` to the nixlayer import (its runtimeShell is the default)", opts.Name)
	}
	return []string{opts.Shell, "-c", opts.Script}, nil
}

// start runs the child in new user and mount namespaces, where the
// builder's ids are 0, and returns what it reports.
func (t *Tree) start(ctx context.Context, cfg *config) (*result, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(t.work, "config.json")
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		return nil, fmt.Errorf("writing the script's settings: %w", err)
	}
	var files []*os.File
	for _, name := range []string{"output", "result.json"} {
		f, err := os.OpenFile(filepath.Join(t.work, name), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("making the script's output file: %w", err)
		}
		defer f.Close()
		files = append(files, f)
	}
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Env = []string{childEnv + "=" + cfgPath}
	cmd.ExtraFiles = files // outputFD, resultFD
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%w (%v): nixlayer runs root scripts in a user namespace; allow them (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone = 1, or AppArmor's kernel.apparmor_restrict_unprivileged_userns = 0), or declare users, files and perms instead of the script", ErrNoNamespaces, err)
		}
		return nil, fmt.Errorf("starting the script's namespaces: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped: %w", ctx.Err())
		}
		return nil, fmt.Errorf("setting up the script's namespaces: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	data, err = os.ReadFile(filepath.Join(t.work, "result.json"))
	if err == nil {
		var res result
		if err = json.Unmarshal(data, &res); err == nil {
			return &res, nil
		}
	}
	return nil, fmt.Errorf("reading what the script's namespaces reported: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
}

// failure is the error the result stands for, if any.
func (r *result) failure(name, path string, output []byte) error {
	shown := output
	if len(shown) > maxShown {
		shown = append([]byte("...\n"), shown[len(shown)-maxShown:]...)
	}
	out := func() string {
		if len(bytes.TrimSpace(shown)) == 0 {
			return "; it wrote nothing"
		}
		hint := ""
		if bytes.Contains(shown, []byte("Read-only file system")) {
			hint = "\n(only the image's root is writable for the script; the store and the build's other files are read-only)"
		}
		if bytes.Contains(shown, []byte("chmod")) && bytes.Contains(shown, []byte("Operation not permitted")) {
			hint += "\n(the Nix sandbox refuses setuid and setgid bits to every build: give them with perms, e.g. { path = \"/bin/x\"; mode = \"4755\"; })"
		}
		return "; its output:\n" + string(shown) + hint
	}
	switch {
	case r.Error != "":
		if strings.Contains(r.Error, "starting ") && strings.Contains(r.Error, "no such file") {
			return fmt.Errorf("%s: %s (the program that runs it must be a store path the script names, so that it is in the image)", name, r.Error)
		}
		return fmt.Errorf("%s: %s", name, r.Error)
	case r.Signal != "":
		return fmt.Errorf("%s was killed by %s%s", name, r.Signal, out())
	case r.Exit == 127:
		return fmt.Errorf("%s exited with status 127 (a command not found?)%s\n(the script's PATH is %s: name other tools by their store path, e.g. ${pkgs.shadow}/bin/useradd, or put their directory on PATH; nixlayer.shadowSetup does that for shadow's)",
			name, out(), path)
	case r.Exit != 0:
		return fmt.Errorf("%s exited with status %d%s", name, r.Exit, out())
	case len(r.Left) > 0:
		return fmt.Errorf("%s left processes running when it ended, which nixlayer killed: %s; a script must wait for what it starts%s",
			name, strings.Join(r.Left, ", "), out())
	}
	return nil
}

// mountPoints finds or makes, under the tree, where the child binds
// /proc, the device nodes, a /tmp and the store; what it makes, Changes
// leaves out.
func (t *Tree) mountPoints(cfg *config, storeDir string) error {
	t.made = nil
	for _, d := range []struct {
		name string
		to   *string
	}{{"proc", &cfg.Proc}, {"tmp", &cfg.Tmp}} {
		fi, err := os.Lstat(filepath.Join(t.root, d.name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := t.makeDirs(d.name + "/"); err != nil {
				return err
			}
			*d.to = "/" + d.name
		case err == nil && fi.IsDir() && d.name == "proc":
			*d.to = "/proc" // the image's own /tmp is kept as it is
		}
	}
	if err := t.devices(cfg); err != nil {
		return err
	}
	if storeDir == "" {
		return nil
	}
	store := strings.TrimPrefix(filepath.Clean(storeDir), "/")
	if err := t.makeDirs(store + "/"); err != nil {
		return err
	}
	ents, err := os.ReadDir(storeDir)
	if err != nil {
		return fmt.Errorf("reading the store: %w", err)
	}
	own, _ := os.ReadDir(filepath.Join(t.root, store))
	if len(own) == 0 || len(ents) > maxBinds {
		// The whole store in one mount, when the image has no store paths
		// of its own there (a base image's) that it would hide, or when
		// the store is too large to bind path by path (a build without
		// the sandbox sees the machine's).
		cfg.Binds = []string{storeDir}
		return nil
	}
	cfg.Store = "/" + store
	for _, ent := range ents {
		sp := filepath.Join(storeDir, ent.Name())
		fi, err := os.Lstat(sp)
		if err != nil {
			return fmt.Errorf("reading store path %s: %w", sp, err)
		}
		if err := t.placeFor(sp, filepath.Join(store, ent.Name()), fi); err != nil {
			return err
		}
		if fi.IsDir() || fi.Mode().IsRegular() {
			cfg.Binds = append(cfg.Binds, sp)
		}
	}
	return nil
}

// placeFor makes, at name in the tree unless something is there (a base
// image's copy), what store path sp (whose Lstat is fi) is bound onto: a
// directory or an empty file, or the symlink itself.
func (t *Tree) placeFor(sp, name string, fi os.FileInfo) error {
	p := filepath.Join(t.root, name)
	if _, err := os.Lstat(p); err == nil {
		return nil
	}
	var err error
	switch {
	case fi.IsDir():
		err = os.Mkdir(p, 0o755)
	case fi.Mode().IsRegular():
		err = os.WriteFile(p, nil, 0o644)
	default:
		var target string
		if target, err = os.Readlink(sp); err == nil {
			err = os.Symlink(target, p)
		}
	}
	if err != nil {
		return fmt.Errorf("making a place for %s in the tree: %w", sp, err)
	}
	t.made = append(t.made, name)
	return nil
}

// makeDirs makes the directories of name ("dev/x", or "tmp/" for tmp
// itself) the tree lacks, as mount points Changes leaves out.
func (t *Tree) makeDirs(name string) error {
	made, err := t.mkParents(name)
	t.made = append(t.made, made...)
	if err != nil {
		return fmt.Errorf("making a mount point for the script: %w", err)
	}
	return nil
}

// maxBinds is the most store paths bound one by one (over a base image's
// store); a larger store is bound whole.
const maxBinds = 4096

// devices are the build's device nodes a chrooted script gets, at their
// paths; the links to /proc/self/fd that go with them are made when the
// image has none.
var (
	devices  = []string{"dev/null", "dev/zero", "dev/full", "dev/random", "dev/urandom", "dev/tty"}
	devLinks = map[string]string{"dev/fd": "/proc/self/fd", "dev/stdin": "/proc/self/fd/0", "dev/stdout": "/proc/self/fd/1", "dev/stderr": "/proc/self/fd/2"}
)

// devices finds or makes the mount points of the build's device nodes in
// the image's /dev (a directory of its own, which the script may change),
// and the /dev/fd links.
func (t *Tree) devices(cfg *config) error {
	if err := t.makeDirs("dev/x"); err != nil {
		return err
	}
	for _, name := range devices {
		if _, err := os.Stat("/" + name); err != nil {
			continue // the build has no such device
		}
		p := filepath.Join(t.root, name)
		if fi, err := os.Lstat(p); err == nil {
			if !fi.Mode().IsRegular() && fi.Mode()&os.ModeDevice == 0 {
				continue // the image has something else there: its own
			}
		} else {
			if err := os.WriteFile(p, nil, 0o666); err != nil {
				return fmt.Errorf("making a place for /%s in the tree: %w", name, err)
			}
			t.made = append(t.made, name)
		}
		cfg.Devs = append(cfg.Devs, "/"+name)
	}
	for name, target := range devLinks {
		p := filepath.Join(t.root, name)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Symlink(target, p); err != nil {
			return fmt.Errorf("making /%s in the tree: %w", name, err)
		}
		t.made = append(t.made, name)
	}
	return nil
}

// removeMountPoints removes what mountPoints made, once the child and its
// mounts are gone; a directory the script wrote into stays.
func (t *Tree) removeMountPoints() {
	for i := len(t.made) - 1; i >= 0; i-- {
		os.Remove(filepath.Join(t.root, t.made[i]))
	}
}

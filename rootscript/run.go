//go:build linux

package rootscript

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Run runs a script as a fake root over the tree (see the package
// documentation), and records what it faked for Changes. A script that
// exits non-zero, is killed, or leaves processes running is an error that
// shows its output.
func (t *Tree) Run(ctx context.Context, opts Options) error {
	if !supported {
		return fmt.Errorf("%s: %w", opts.Name, ErrUnsupported)
	}
	lim, err := readLimits()
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Name, err)
	}
	t.lim = lim
	argv, err := interpreter(opts)
	if err != nil {
		return err
	}
	if err := t.waitClock(t.latest); err != nil {
		return err
	}
	cfg := &config{Root: t.root, Chroot: opts.Chroot, Argv: argv, MaxRecords: lim.entries}
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
	if opts.StoreDir != "" {
		t.store = strings.Trim(filepath.Clean(opts.StoreDir), "/")
	}
	cfg.Env = append(append(cfg.Env, "PATH="+path), opts.Env...)
	if v, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		cfg.Env = append(cfg.Env, "SOURCE_DATE_EPOCH="+v)
	}
	res, out, err := t.start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Name, err)
	}
	if err := res.failure(opts.Name, path, out.shown()); err != nil {
		return err
	}
	if opts.Log != nil {
		if err := out.writeTo(opts.Log); err != nil {
			return fmt.Errorf("%s: passing its output on: %w", opts.Name, err)
		}
	}
	t.keep(res)
	return nil
}

// keep merges what the script's faked calls recorded into the tree's
// attributes.
func (t *Tree) keep(res *result) {
	for _, d := range res.Removed {
		t.removed[d] = true
	}
	for _, r := range res.Records {
		id := fileID{r.Dev, r.Ino, r.Btime}
		a := t.attrs[id]
		if r.Uid >= 0 {
			a.Uid = int(r.Uid)
		}
		if r.Gid >= 0 {
			a.Gid = int(r.Gid)
		}
		if r.Device != 0 {
			a.Device, a.Major, a.Minor = r.Device, int64(r.Major), int64(r.Minor)
		}
		t.attrs[id] = a
		t.faked[id] = true
	}
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

// start runs the child in new user, mount and PID namespaces, where the
// builder's ids are 0 and the child is init: when it ends, for whatever
// reason (the script ended, the build was cancelled and killed it), the
// kernel kills every process left in the namespace. It returns what the
// child reports and the script's output.
func (t *Tree) start(ctx context.Context, cfg *config) (*result, *output, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, err
	}
	cfgPath := filepath.Join(t.work, "config.json")
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		return nil, nil, fmt.Errorf("writing the script's settings: %w", err)
	}
	var files []*os.File
	for _, name := range []string{"output", "result.json", "namespaces.log"} {
		f, err := os.OpenFile(filepath.Join(t.work, name), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("making the script's output file: %w", err)
		}
		defer f.Close()
		files = append(files, f)
	}
	spool, resultFile, log := files[0], files[1], files[2]
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("making the script's output pipe: %w", err)
	}
	defer pr.Close()
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Env = []string{childEnv + "=" + cfgPath}
	cmd.ExtraFiles = []*os.File{pw, resultFile} // outputFD, resultFD
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EACCES) {
			return nil, nil, fmt.Errorf("%w (%v): nixlayer runs root scripts in a user namespace; allow them (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone = 1, or AppArmor's kernel.apparmor_restrict_unprivileged_userns = 0), or declare users, files and perms instead of the script", ErrNoNamespaces, err)
		}
		return nil, nil, fmt.Errorf("starting the script's namespaces: %w", err)
	}
	read := make(chan *output, 1)
	go func() { read <- readOutput(pr, spool) }()
	werr := cmd.Wait()
	// Every process that held the pipe was in the namespace, which ended
	// with its init; a second is left for what the pipe still holds.
	pr.SetReadDeadline(time.Now().Add(time.Second))
	out := <-read
	if werr != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("stopped: %w", ctx.Err())
		}
		return nil, nil, fmt.Errorf("setting up the script's namespaces: %v: %s", werr, tailOf(log))
	}
	var res result
	if _, err = resultFile.Seek(0, io.SeekStart); err == nil {
		err = json.NewDecoder(io.LimitReader(resultFile, maxResultBytes)).Decode(&res)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading what the script's namespaces reported: %v: %s", err, tailOf(log))
	}
	return &res, out, nil
}

// tailOf is the end of the file f (the child's own messages), trimmed.
func tailOf(f *os.File) []byte {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	buf := make([]byte, min(fi.Size(), maxShown))
	n, _ := f.ReadAt(buf, fi.Size()-int64(len(buf)))
	return bytes.TrimSpace(buf[:n])
}

// failure is the error the result stands for, if any.
func (r *result) failure(name, path string, shown []byte) error {
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

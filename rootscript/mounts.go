//go:build linux

package rootscript

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// mountView makes the script's view of the files, in the child's own
// mount namespace (made private, with its own /proc, by mountProc):
// everything read-only but the tree (and a TMPDIR); with Chroot, that
// /proc, the build's /dev nodes, a tmpfs at /tmp and the store paths
// bound inside the tree, the store read-only. The script gets a copy of
// these mounts in a mount namespace of its own user namespace, where the
// kernel locks them: it cannot unmount them nor make them writable.
func mountView(cfg *config) error {
	bind := func(src, dst string, rec bool) error {
		flags := uintptr(unix.MS_BIND)
		if rec {
			flags |= unix.MS_REC
		}
		if err := unix.Mount(src, dst, "", flags, ""); err != nil {
			return mountErr("binding "+src+" to "+dst, err)
		}
		return nil
	}
	// /proc stays writable for the supervisor, which writes the maps of
	// the script's user namespace there; the tree's copy is read-only.
	writable := []string{cfg.Root, "/proc"}
	if err := bind(cfg.Root, cfg.Root, false); err != nil {
		return err
	}
	if cfg.Chroot {
		under := func(p string) string { return filepath.Join(cfg.Root, p) }
		if cfg.Proc != "" {
			if err := bind("/proc", under(cfg.Proc), true); err != nil {
				return err
			}
		}
		for _, d := range cfg.Devs {
			if err := bind(d, under(d), false); err != nil {
				return err
			}
		}
		if cfg.Tmp != "" {
			if err := unix.Mount("tmpfs", under(cfg.Tmp), "tmpfs", 0, "mode=1777"); err != nil {
				return mountErr("mounting a tmpfs at /tmp", err)
			}
			writable = append(writable, under(cfg.Tmp))
		}
		if cfg.Store != "" {
			if err := bind(under(cfg.Store), under(cfg.Store), false); err != nil {
				return err
			}
		}
		for _, p := range cfg.Binds {
			if err := bind(p, under(p), true); err != nil {
				return err
			}
		}
	} else if cfg.TmpDir != "" {
		if err := bind(cfg.TmpDir, cfg.TmpDir, false); err != nil {
			return err
		}
		writable = append(writable, cfg.TmpDir)
	}
	ro := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE, ro); err != nil {
		return mountErr("making the build's files read-only (Linux 5.12 or later)", err)
	}
	rw := &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
	for _, w := range writable {
		if err := unix.MountSetattr(unix.AT_FDCWD, w, 0, rw); err != nil {
			return mountErr("making "+w+" writable", err)
		}
	}
	return nil
}

func mountErr(what string, err error) error {
	return fmt.Errorf("setting up the script's files: %s: %w", what, err)
}

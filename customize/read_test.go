package customize

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUserCheckStaysInImage: symlinks in a store path are followed inside
// the image, never through the build machine's files: a store path whose
// etc/passwd points to /etc/passwd does not pass a user of the host, and
// one pointing to /dev/zero (or a FIFO) neither hangs nor grows memory.
func TestUserCheckStaysInImage(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, pkg string)
		user  string
		want  string // error substring; "" for success
	}{
		{"passwd to the host's", func(t *testing.T, pkg string) { symlink(t, "/etc/passwd", pkg, "etc/passwd") }, "daemon", "levels of symlinks"},
		{"etc to the host's", func(t *testing.T, pkg string) {
			os.RemoveAll(filepath.Join(pkg, "etc"))
			symlink(t, "/etc", pkg, "etc")
		}, "daemon", "levels of symlinks"},
		{"passwd to /dev/zero", func(t *testing.T, pkg string) { symlink(t, "/dev/zero", pkg, "etc/passwd") }, "daemon", `user "daemon" is not defined`},
		{"passwd is a FIFO", func(t *testing.T, pkg string) {
			p := filepath.Join(pkg, "etc/passwd")
			os.Remove(p)
			if err := mkfifo(p); err != nil {
				t.Fatal(err)
			}
		}, "daemon", `user "daemon" is not defined`},
		{"passwd to another file of the store path", func(t *testing.T, pkg string) {
			os.WriteFile(filepath.Join(pkg, "share/passwd"), []byte("daemon:x:1:1::/:/bin/sh\n"), 0o444)
			symlink(t, "../share/passwd", pkg, "etc/passwd")
		}, "daemon", ""},
		{"passwd by absolute store path", func(t *testing.T, pkg string) {
			os.WriteFile(filepath.Join(pkg, "share/passwd"), []byte("daemon:x:1:1::/:/bin/sh\n"), 0o444)
			symlink(t, filepath.Join(pkg, "share/passwd"), pkg, "etc/passwd")
		}, "daemon", ""},
		{"passwd too large", func(t *testing.T, pkg string) {
			p := filepath.Join(pkg, "etc/passwd")
			os.Remove(p)
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			os.Truncate(p, maxUserFileBytes+1)
		}, "daemon", "byte limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := testImage(t)
			pkg := img.StorePaths[0]
			os.MkdirAll(filepath.Join(pkg, "share"), 0o755)
			c.setup(t, pkg)
			img.User = c.user
			done := make(chan error, 1)
			go func() { _, err := Customise(parseSpec(t, `{}`), img); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the config.User check hangs")
			}
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func symlink(t *testing.T, target, pkg, name string) {
	t.Helper()
	p := filepath.Join(pkg, name)
	os.Remove(p)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o644) }

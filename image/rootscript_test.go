package image

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nixlayer/nixlayer/rootscript"
)

// TestUserAfter: config.User against the /etc/passwd a root script left,
// found as the image would find it: links never lead out of the tree to
// the build machine's /etc/passwd (which has root).
func TestUserAfter(t *testing.T) {
	const appOnly = "app:x:1000:1000::/home/app:/bin/sh\n"
	passwd := func(content string) func(string) error {
		return func(root string) error { return writeIn(root, "etc/passwd", content) }
	}
	linkedEtc := func(target string) func(string) error {
		return func(root string) error {
			if err := os.Symlink(target, filepath.Join(root, "etc")); err != nil {
				return err
			}
			return writeIn(root, "passwd", appOnly)
		}
	}
	tests := []struct {
		name, user string
		setup      func(root string) error
		want       string // "" for no error
	}{
		{"defined", "app", passwd("root:x:0:0::/root:/bin/sh\n" + appOnly), ""},
		{"defined, with a group", "app:staff", passwd(appOnly), ""},
		{"numeric", "1000:1000", passwd("root:x:0:0::/root:/bin/sh\n"), ""},
		{"no passwd", "app", func(string) error { return nil }, ""},
		{"missing", "app", passwd("root:x:0:0::/root:/bin/sh\n"), `config.User = "app": user "app" is not in the /etc/passwd runAsRoot left (its users are root)`},
		{"malformed", "app", passwd("root:x:0:0\n"), "reading the /etc/passwd runAsRoot left: line 1"},
		{"etc a link to /", "root", linkedEtc("/"), `user "root" is not in the /etc/passwd runAsRoot left (its users are app)`},
		{"etc a link up and out", "root", linkedEtc("../../../../../.."), `user "root" is not in the /etc/passwd runAsRoot left (its users are app)`},
		{"passwd a link to /etc/passwd", "root", func(root string) error {
			if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
				return err
			}
			return os.Symlink("/etc/passwd", filepath.Join(root, "etc/passwd"))
		}, "reading the /etc/passwd runAsRoot left: reading /etc/passwd of the image"},
		{"passwd a FIFO", "root", func(root string) error {
			if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
				return err
			}
			return syscall.Mkfifo(filepath.Join(root, "etc/passwd"), 0o644)
		}, ""},
		{"etc a file", "root", func(root string) error { return writeIn(root, "etc", "x") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := rootscript.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer tree.Close()
			if err := tt.setup(tree.Dir()); err != nil {
				t.Fatal(err)
			}
			err = userAfter(tree, tt.user, "runAsRoot")
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// writeIn writes content at name under root, making its directories.
func writeIn(root, name, content string) error {
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

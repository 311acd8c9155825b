package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserAfter: config.User against the /etc/passwd a root script left.
func TestUserAfter(t *testing.T) {
	tests := []struct {
		name, user, passwd string
		want               string // "" for no error
	}{
		{"defined", "app", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", ""},
		{"defined, with a group", "app:staff", "app:x:1000:1000::/home/app:/bin/sh\n", ""},
		{"numeric", "1000:1000", "root:x:0:0::/root:/bin/sh\n", ""},
		{"no passwd", "app", "", ""},
		{"missing", "app", "root:x:0:0::/root:/bin/sh\n", `config.User = "app": user "app" is not in the /etc/passwd runAsRoot left (its users are root)`},
		{"malformed", "app", "root:x:0:0\n", "reading the /etc/passwd runAsRoot left: line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.passwd != "" {
				if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte(tt.passwd), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := userAfter(root, tt.user, "runAsRoot")
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

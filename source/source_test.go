package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/image/base"
)

// TestSniff: what a path holds, told from its first bytes, and hostile
// paths refused at once (a FIFO is never opened, so nothing blocks).
func TestSniff(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	layout := filepath.Join(dir, "layout")
	os.MkdirAll(layout, 0o755)
	write("layout/oci-layout", `{"imageLayoutVersion":"1.0.0"}`, 0o644)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path string
		want       base.Format
		err        string
	}{
		{"stream script", write("script", "#!/nix/store/x-nixlayer/bin/nixlayer stream\n{}\n", 0o555), base.StreamScript, ""},
		{"stream script not executable", write("script-ro", "#!/x/nixlayer stream\n{}\n", 0o444), base.StreamScript, ""},
		{"shell script", write("sh", "#!/bin/sh\nexec cat x\n", 0o755), base.Executable, ""},
		{"ELF", write("elf", "\x7fELF\x02\x01", 0o755), base.Executable, ""},
		{"shell script not executable", write("sh-ro", "#!/bin/sh\n", 0o644), "", ""},
		{"archive", write("a.tar", "x", 0o644), "", ""},
		{"layout", layout, base.OCILayout, ""},
		{"plain directory", filepath.Join(dir, "layout", ".."), "", "without an oci-layout file"},
		{"missing", filepath.Join(dir, "missing"), "", "no such file"},
		{"FIFO", fifo, "", "not a regular file"},
		{"device", zero, "", "not a regular file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			var got base.Format
			var err error
			go func() { got, err = Sniff(tt.path); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Sniff blocked")
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Sniff = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestOpenRefuses: a file that is no image names itself, and a stream
// script whose recipe is damaged is an error, not a hang.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte(strings.Repeat("x", 2000)), 0o644)
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/x/nixlayer stream\n{not json\n"), 0o555)
	for _, tt := range []struct{ name, path, err string }{
		{"junk", junk, "reading image source " + `"` + junk + `"`},
		{"damaged script", script, "stream script " + script},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.path)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want %q", err, tt.err)
			}
		})
	}
}

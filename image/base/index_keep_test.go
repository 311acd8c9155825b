package base

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIndexContent: WithKeep keeps the content of the named files as the
// image leaves them: a later layer's version wins, a whiteout removes it,
// and a path that was not asked for is an error.
func TestIndexContent(t *testing.T) {
	s := layersOf(
		tarOf(t, dir("etc/"), reg("etc/passwd", "old\n"), reg("etc/group", "g\n"), reg("etc/motd", "hi\n")),
		tarOf(t, reg("etc/passwd", "new\n"), reg("etc/.wh.group", "")),
	)
	p := filepath.Join(t.TempDir(), "img.tar")
	if err := os.WriteFile(p, s.docker(t), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := Open(p, WithKeep("etc/passwd", "etc/group"))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	x, err := img.Index()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, want string
		ok, err    bool
	}{
		{"etc/passwd", "new\n", true, false},
		{"/etc/passwd", "new\n", true, false},
		{"etc/group", "", false, false},
		{"etc/motd", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, ok, err := x.Content(tt.name, 1<<20)
			if string(data) != tt.want || ok != tt.ok || (err != nil) != tt.err {
				t.Errorf("Content(%q) = %q, %v, %v; want %q, %v, error %v", tt.name, data, ok, err, tt.want, tt.ok, tt.err)
			}
		})
	}
}

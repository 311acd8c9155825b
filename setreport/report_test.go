package setreport

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func testReport() *Report {
	return &Report{Names: []string{"b", "a", "c"}, Layers: map[string][]Layer{
		"a": {{"sha256:111111111111aaaa", 100}, {"sha256:222222222222bbbb", 10}, {"sha256:333333333333cccc", 1}},
		"b": {{"sha256:111111111111aaaa", 100}, {"sha256:222222222222bbbb", 10}, {"sha256:444444444444dddd", 2}},
		"c": {{"sha256:555555555555eeee", 5}},
	}}
}

func TestReportFigures(t *testing.T) {
	r := testReport()
	if got := r.UniqueBytes(); got != 118 {
		t.Errorf("unique bytes %d, want 118", got)
	}
	old := &Report{Names: []string{"a"}, Layers: map[string][]Layer{"a": r.Layers["a"]}}
	if got := r.NewBytes(old); got != 7 {
		t.Errorf("new bytes over a %d, want 7 (b's and c's own layers)", got)
	}
	if got := r.TotalBytes(); got != 228 {
		t.Errorf("total bytes %d, want 228", got)
	}
	for _, tc := range []struct {
		a, b string
		pull int64
		// shared layers
		shared int
	}{
		{"a", "b", 2, 2},
		{"b", "a", 1, 2},
		{"a", "c", 5, 0},
		{"c", "a", 111, 0},
	} {
		if got := r.PullBytes(tc.a, tc.b); got != tc.pull {
			t.Errorf("pull %s→%s: %d bytes, want %d", tc.a, tc.b, got, tc.pull)
		}
		if got := len(r.Shared(tc.a, tc.b)); got != tc.shared {
			t.Errorf("%s & %s share %d layers, want %d", tc.a, tc.b, got, tc.shared)
		}
	}
	var b strings.Builder
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := `unique blob bytes: 118 (3 images; 228 bytes if nothing were shared)
layers per image:
  a: 3 layers, 111 bytes
  b: 3 layers, 112 bytes
  c: 1 layers, 5 bytes
shared layers per pair:
  a & b: 2 layers, 110 bytes (111111111111 222222222222)
  a & c: 0 layers, 0 bytes
  b & c: 0 layers, 0 bytes
`
	if b.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestDescribeErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.tar")
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		images []Image
		want   string
	}{
		{"empty", nil, "no image"},
		// a FIFO is refused at once, never opened for reading (which would block)
		{"fifo", []Image{{Name: "api", Path: fifo}}, "describing image api of the set (" + fifo + ")"},
		{"missing", []Image{{Name: "api", Path: missing}}, "describing image api of the set (" + missing + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Describe(context.Background(), tc.images)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

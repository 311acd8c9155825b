package push

import (
	"strings"
	"testing"
)

func TestParseDestination(t *testing.T) {
	cases := []struct {
		in      string
		want    Destination
		wantErr string
	}{
		{in: "127.0.0.1:5000/app:v1", want: Destination{Target: Registry, Ref: "127.0.0.1:5000/app:v1"}},
		{in: "docker://127.0.0.1:5000/app:v1", want: Destination{Target: Registry, Ref: "127.0.0.1:5000/app:v1"}},
		{in: "docker-daemon:", want: Destination{Target: Docker}},
		{in: "docker-daemon:app:v1", want: Destination{Target: Docker, Ref: "app:v1"}},
		{in: "containers-storage:app:v1", want: Destination{Target: Podman, Ref: "app:v1"}},
		{in: "podman:", want: Destination{Target: Podman}},
		{in: "containerd:127.0.0.1:5000/app:v1", want: Destination{Target: Containerd, Ref: "127.0.0.1:5000/app:v1"}},
		{in: "containers-storage:[vfs@/var/lib/x]app:v1", wantErr: "storage specifier"},
		{in: "containerd:UPPER:v1", wantErr: `"containerd:UPPER:v1"`},
		{in: "oci:/tmp/layout", wantErr: "oci names a file"},
		{in: "docker://", wantErr: `reading destination "docker://"`},
		{in: "no spaces allowed", wantErr: `reading destination "no spaces allowed"`},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseDestination(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("ParseDestination(%q) = %+v, %v; want an error with %q", c.in, got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseDestination(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
			if got.String() != strings.Replace(strings.TrimPrefix(c.in, "docker://"), "containers-storage:", "podman:", 1) {
				t.Errorf("String() = %q", got.String())
			}
		})
	}
}

func TestContainerdName(t *testing.T) {
	for in, want := range map[string]string{
		"app":                       "docker.io/library/app:latest",
		"app:v1":                    "docker.io/library/app:v1",
		"org/app:v1":                "docker.io/org/app:v1",
		"127.0.0.1:5000/org/app:v1": "127.0.0.1:5000/org/app:v1",
		"ghcr.io/org/app:v1":        "ghcr.io/org/app:v1",
	} {
		if got, err := containerdName(in); err != nil || got != want {
			t.Errorf("containerdName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

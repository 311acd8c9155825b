package registry

import "testing"

func TestSplitReference(t *testing.T) {
	tests := []struct{ in, repo, tag string }{
		{"alpine", "alpine", "latest"},
		{"alpine:3.20", "alpine", "3.20"},
		{"localhost:5000/app", "localhost:5000/app", "latest"},
		{"localhost:5000/app:v1", "localhost:5000/app", "v1"},
		{"localhost:5000/app@sha256:abcd", "localhost:5000/app", "latest"},
		{"localhost:5000/app:v1@sha256:abcd", "localhost:5000/app", "v1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if repo, tag := SplitReference(tt.in); repo != tt.repo || tag != tt.tag {
				t.Errorf("SplitReference(%q) = %q, %q; want %q, %q", tt.in, repo, tag, tt.repo, tt.tag)
			}
		})
	}
}

package verify

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestReader(t *testing.T) {
	const content = "hello, layer"
	digest := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256([]byte(content)))}
	tests := []struct {
		name, read string
		size       int64
		err        string
	}{
		{"match", content, int64(len(content)), ""},
		{"any size", content, -1, ""},
		{"other bytes", "HELLO, LAYER", int64(len(content)), "the blob has digest sha256:"},
		{"shorter", content[:5], int64(len(content)), "the blob has 5 bytes, not 12"},
		{"longer", content + "!", int64(len(content)), "the blob is larger than its 12 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewReader(strings.NewReader(tt.read), digest, tt.size, "the blob")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(v)
			if tt.err == "" {
				if err != nil || string(got) != content {
					t.Errorf("read %q, %v; want the content", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrMismatch) {
				t.Errorf("got %v, want an ErrMismatch saying %q", err, tt.err)
			}
			if int64(len(got)) > max(tt.size, 0) && tt.size >= 0 {
				t.Errorf("handed out %d bytes, more than the expected %d", len(got), tt.size)
			}
		})
	}
	if _, err := NewReader(strings.NewReader(""), v1.Hash{Algorithm: "md5"}, 0, "the blob"); err == nil {
		t.Error("an unknown digest algorithm was accepted")
	}
}

package registry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type read struct {
		n  int
		at time.Duration // after t0
	}
	tests := []struct {
		name  string
		reads []read
		slow  int // the read found slow, 1-based; 0: none
	}{
		{"fast", []read{{4096, 0}, {4096, 500 * time.Millisecond}, {4096, time.Second}, {4096, 1500 * time.Millisecond}}, 0},
		{"trickle", []read{{1, 0}, {1, 400 * time.Millisecond}, {1, 800 * time.Millisecond}, {1, 1200 * time.Millisecond}}, 4},
		{"window not over", []read{{1, 0}, {1, 999 * time.Millisecond}}, 0},
		{"fast, then a trickle", []read{{4096, 0}, {1, time.Second}, {1, 1600 * time.Millisecond}, {1, 2100 * time.Millisecond}}, 4},
		{"a late read counts its time", []read{{1000, 0}, {900, 1900 * time.Millisecond}}, 2},
		{"a late read, fast enough", []read{{1000, 0}, {1000, 1900 * time.Millisecond}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := meter{window: time.Second, minRate: 1024}
			got := 0
			for i, r := range tt.reads {
				if _, _, slow := m.add(r.n, t0.Add(r.at)); slow && got == 0 {
					got = i + 1
				}
			}
			if got != tt.slow {
				t.Errorf("slow at read %d, want %d", got, tt.slow)
			}
		})
	}
}

func TestBodyFailure(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&progressError{"trickle", true}, true},
		{fmt.Errorf("downloading blob: %w", &progressError{"stalled", true}), true},
		{&progressError{"timeout awaiting response headers", false}, false},
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("x: %w", syscall.ECONNRESET), true},
		{&roundTripError{syscall.ECONNRESET}, false},
		{&url.Error{Op: "Get", URL: "http://r/v2/", Err: &roundTripError{io.ErrUnexpectedEOF}}, false},
		{errDigest, false},
		{errors.New("500 Internal Server Error"), false},
	}
	for _, tt := range tests {
		if got := bodyFailure(tt.err); got != tt.want {
			t.Errorf("bodyFailure(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestDocumentKind(t *testing.T) {
	tests := []struct {
		method, url, contentType, want string
		blob                           bool
	}{
		{"GET", "http://r/v2/app/manifests/v1", "application/vnd.oci.image.manifest.v1+json", "manifest", false},
		{"GET", "http://r/v2/app/manifests/sha256-ab", "application/vnd.oci.image.index.v1+json; charset=utf-8", "index", false},
		{"GET", "http://r/v2/app/manifests/v1", "application/vnd.docker.distribution.manifest.list.v2+json", "index", false},
		{"GET", "http://r/v2/app/referrers/sha256:ab", "application/vnd.oci.image.index.v1+json", "referrers index", false},
		{"GET", "http://auth/token?scope=x", "application/json", "response", false},
		{"GET", "http://r/v2/app/blobs/sha256:ab", "application/octet-stream", "response", true},
		{"PATCH", "http://r/v2/app/blobs/uploads/1", "", "response", false},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(tt.method, tt.url, nil)
		resp := &http.Response{Header: http.Header{"Content-Type": {tt.contentType}}}
		if got := documentKind(r, resp); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.method, tt.url, got, tt.want)
		}
		if got := blobDownload(r); got != tt.blob {
			t.Errorf("%s %s: blobDownload %v, want %v", tt.method, tt.url, got, tt.blob)
		}
	}
	// A blob download redirected to storage is still one.
	orig, _ := http.NewRequest("GET", "http://r/v2/app/blobs/sha256:ab", nil)
	cdn, _ := http.NewRequest("GET", "https://cdn.example/x?sig=y", nil)
	cdn.Response = &http.Response{Request: orig}
	if !blobDownload(cdn) {
		t.Error("a redirected blob download is bounded as a document")
	}
}

// closeCounter is a body that fails a second Close, as an *os.File does.
type closeCounter struct {
	io.Reader
	closes int
}

func (c *closeCounter) Close() error {
	c.closes++
	if c.closes > 1 {
		return errors.New("file already closed")
	}
	return nil
}

// TestWatchedUploadClosedOnce: an upload read to its end, then closed by
// the transport, closes what it wraps once, without error (a second Close
// of a layout's blob file failed the push of an index).
func TestWatchedUploadClosedOnce(t *testing.T) {
	tr := newWatchTransport(http.DefaultTransport, Timeouts{Idle: time.Second, MinRate: 1})
	inner := &closeCounter{Reader: strings.NewReader("a blob")}
	b := tr.watchUpload(inner, "uploading blob sha256:ab")
	if _, err := io.ReadAll(b); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil || inner.closes != 1 {
		t.Errorf("Close: %v after %d closes of the file, want nil after 1", err, inner.closes)
	}
	if err := b.Close(); err != nil || inner.closes != 1 {
		t.Errorf("second Close: %v after %d closes of the file, want nil after 1", err, inner.closes)
	}
}

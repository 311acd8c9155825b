package push

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/registry"
)

// TestPushStalledUpload: a registry that takes an upload request and then
// stops reading it fails the push within the idle timeout (a write
// deadline on the connection), naming the step.
func TestPushStalledUpload(t *testing.T) {
	img, err := random.Image(32<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src.tar")
	if err := tarball.WriteToFile(src, name.MustParseReference("src:v1"), img); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case r.Method == http.MethodHead:
			http.NotFound(w, r)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/"):
			w.Header().Set("Location", "/v2/app/blobs/uploads/1")
			w.WriteHeader(http.StatusAccepted)
		default:
			<-done // take the request, never read its body
		}
	}))
	t.Cleanup(func() { close(done); srv.CloseClientConnections(); srv.Close() })
	start := time.Now()
	_, err = Push(context.Background(), src, strings.TrimPrefix(srv.URL, "http://")+"/app:v1",
		registry.WithTimeouts(registry.Timeouts{Headers: time.Second, Idle: 500 * time.Millisecond}), registry.WithRetry(1, 0), registry.WithJobs(1))
	took := time.Since(start)
	if err == nil {
		t.Fatal("push succeeded")
	}
	if took > 10*time.Second {
		t.Errorf("push failed after %v, want within the timeouts", took)
	}
	t.Logf("%v after %v", err, took.Round(time.Millisecond))
}

// TestPushSlowRegistry: a registry that takes uploads a byte at a time
// (the client's writes wait past the idle timeout: Linux wakes a blocked
// writer only when much of its send buffer is free) fails the push within
// the bounds, naming the registry and the blob, with no image at the
// destination; so does an upload taken at 2.5 MiB/s, never idle, under a
// minimum rate of 8 MiB/s (paced on our side of the connection: the kernel's
// buffers make a slow reader look idle rather than slow).
func TestPushSlowRegistry(t *testing.T) {
	img, err := random.Image(32<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	layer, _ := ls[0].Digest()
	src := filepath.Join(t.TempDir(), "src.tar")
	if err := tarball.WriteToFile(src, name.MustParseReference("src:v1"), img); err != nil {
		t.Fatal(err)
	}
	reg := registrytest.Start(t)
	tests := []struct {
		name string
		rule registrytest.Rule
		opt  registry.Option
		idle time.Duration // and the rate's window
		want string
	}{
		{"a byte at a time", registrytest.Rule{Match: registrytest.BlobUpload, Fault: registrytest.Trickle, Bytes: 1, Every: time.Millisecond}, registry.WithJobs(4),
			time.Second, "took no data for 1s (the idle timeout"},
		{"2.5 MiB/s", registrytest.Rule{Match: func(*http.Request) bool { return false }}, registry.WithTransport(pacedUploads{http.DefaultTransport, 256 << 10, 100 * time.Millisecond}),
			time.Second, "under the minimum rate of 8388608 bytes/s"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := registrytest.NewProxy(t, reg.Host)
			p.Inject(tt.rule)
			repo := fmt.Sprintf("/slow%d:v1", i)
			dest := p.Host + repo
			start := time.Now()
			_, err := Push(context.Background(), src, dest, registry.WithTimeouts(registry.Timeouts{Idle: tt.idle, MinRate: 8 << 20}), registry.WithRetry(2, 10*time.Millisecond), tt.opt)
			took := time.Since(start)
			if err == nil {
				t.Fatal("push succeeded")
			}
			for _, w := range []string{dest, "uploading blob " + layer.String(), tt.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if took > 20*time.Second {
				t.Errorf("push failed after %v", took)
			}
			// The config's upload (small: it passes) and the layer's, twice.
			if n := p.Count("PATCH", "/blobs/uploads/"); n != 3 {
				t.Errorf("%d uploads, want 3: the config and the layer twice (registry.WithRetry(2, …))", n)
			}
			upstream, _ := name.ParseReference(reg.Host + repo)
			if _, err := remote.Head(upstream); err == nil {
				t.Error("a failed push left an image at the destination")
			}
			t.Logf("%v after %v", err, took.Round(time.Millisecond))
		})
	}
}

// pacedUploads sends request bodies n bytes every every.
type pacedUploads struct {
	rt    http.RoundTripper
	n     int
	every time.Duration
}

func (p pacedUploads) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.WithContext(r.Context())
		r.Body = &pacedBody{ReadCloser: r.Body, p: p}
	}
	return p.rt.RoundTrip(r)
}

type pacedBody struct {
	io.ReadCloser
	p pacedUploads
}

func (b *pacedBody) Read(buf []byte) (int, error) {
	time.Sleep(b.p.every / time.Duration(max(1, b.p.n/len(buf)+1)))
	return b.ReadCloser.Read(buf[:min(len(buf), b.p.n)])
}

package push

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
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

package pull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nixlayer/nixlayer/registry"
)

// hostileRegistry is an httptest registry on 127.0.0.1 serving one image
// (or index) whose handlers a test replaces to misbehave.
type hostileRegistry struct {
	srv      *httptest.Server
	manifest []byte
	mt       types.MediaType
	blobs    map[string]func(w http.ResponseWriter) // by digest
	stallMan bool
	sent     atomic.Int64 // body bytes the blob handlers wrote
	done     chan struct{}
}

func digestOf(b []byte) v1.Hash {
	s := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

func newHostileRegistry(t *testing.T) *hostileRegistry {
	h := &hostileRegistry{blobs: map[string]func(http.ResponseWriter){}, done: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.Contains(r.URL.Path, "/manifests/"):
			if h.stallMan {
				<-h.done
				return
			}
			w.Header().Set("Content-Type", string(h.mt))
			w.Header().Set("Docker-Content-Digest", digestOf(h.manifest).String())
			w.Write(h.manifest)
		case strings.Contains(r.URL.Path, "/blobs/"):
			d := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			if f, ok := h.blobs[d]; ok {
				f(w)
				return
			}
			http.NotFound(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(func() { close(h.done); h.srv.CloseClientConnections(); h.srv.Close() })
	return h
}

func (h *hostileRegistry) host() string { return strings.TrimPrefix(h.srv.URL, "http://") }

// image sets a manifest with a config of configSize bytes (served as
// given by config) and one layer served by layer.
func (h *hostileRegistry) image(config []byte, configSize int64, layer []byte, serveLayer func(w http.ResponseWriter)) v1.Hash {
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.DockerManifestSchema2,
		Config: v1.Descriptor{MediaType: types.DockerConfigJSON, Size: configSize, Digest: digestOf(config)},
		Layers: []v1.Descriptor{{MediaType: types.DockerLayer, Size: int64(len(layer)), Digest: digestOf(layer)}}}
	h.manifest, _ = json.Marshal(m)
	h.mt = types.DockerManifestSchema2
	h.blobs[digestOf(config).String()] = func(w http.ResponseWriter) { w.Write(config) }
	h.blobs[digestOf(layer).String()] = serveLayer
	return digestOf(h.manifest)
}

// endless writes zeros until the client goes away.
func (h *hostileRegistry) endless(w http.ResponseWriter) {
	buf := make([]byte, 32<<10)
	for {
		n, err := w.Write(buf)
		h.sent.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// TestPullHostileRegistry: an endless blob body stops at the descriptor's
// size with an error naming the digest; a registry that never answers, or
// whose body stalls after a byte (slow loris), fails within its timeouts;
// a config over MaxConfigBytes is refused before it is downloaded; Pin
// has the same timeouts.
func TestPullHostileRegistry(t *testing.T) {
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:` + strings.Repeat("0", 64) + `"]}}`)
	layer := []byte("a 354-byte blob, or so")
	short := registry.WithTimeouts(registry.Timeouts{Dial: time.Second, TLS: time.Second, Headers: 300 * time.Millisecond, Idle: 300 * time.Millisecond})
	tests := []struct {
		name  string
		setup func(h *hostileRegistry) v1.Hash
		pin   bool
		want  []string
	}{
		{"endless blob body", func(h *hostileRegistry) v1.Hash {
			return h.image(config, int64(len(config)), layer, h.endless)
		}, false, []string{digestOf(layer).String(), fmt.Sprintf("more than the %d bytes", len(layer))}},
		{"no response headers", func(h *hostileRegistry) v1.Hash {
			h.stallMan = true
			return digestOf([]byte("x"))
		}, false, []string{"timeout awaiting response headers"}},
		{"slow-loris body", func(h *hostileRegistry) v1.Hash {
			return h.image(config, int64(len(config)), layer, func(w http.ResponseWriter) {
				w.Header().Set("Content-Length", fmt.Sprint(len(layer)))
				w.Write(layer[:1])
				w.(http.Flusher).Flush()
				<-h.done
			})
		}, false, []string{digestOf(layer).String(), "idle timeout"}},
		{"config over the limit", func(h *hostileRegistry) v1.Hash {
			return h.image(config, 300<<20, layer, h.endless)
		}, false, []string{"config sha256:", "over the 8388608 byte limit"}},
		{"pin: no response headers", func(h *hostileRegistry) v1.Hash {
			h.stallMan = true
			return v1.Hash{}
		}, true, []string{"timeout awaiting response headers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHostileRegistry(t)
			d := tt.setup(h)
			start := time.Now()
			var err error
			if tt.pin {
				_, err = Pin(context.Background(), h.host()+"/app:v1", "", short, registry.WithRetry(1, 0))
			} else {
				err = Pull(context.Background(), Request{ImageName: h.host() + "/app", ImageDigest: d.String()}, filepath.Join(t.TempDir(), "out.tar"), short, registry.WithRetry(2, 10*time.Millisecond))
			}
			took := time.Since(start)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if took > 10*time.Second {
				t.Errorf("took %v", took)
			}
			if s := h.sent.Load(); s > 64<<20 {
				t.Errorf("the registry could send %d bytes for a %d-byte blob", s, len(layer))
			}
			t.Logf("%v after %v; registry sent %d body bytes", err, took.Round(time.Millisecond), h.sent.Load())
		})
	}
}

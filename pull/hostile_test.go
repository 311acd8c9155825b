package pull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
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
	srv        *httptest.Server
	manifest   []byte
	mt         types.MediaType
	blobs      map[string]func(w http.ResponseWriter) // by digest
	stallMan   bool
	trickleMan bool         // send the manifest a byte every 50ms
	manGets    atomic.Int64 // manifest requests
	sent       atomic.Int64 // body bytes the blob handlers wrote
	done       chan struct{}
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
			h.manGets.Add(1)
			if h.stallMan {
				<-h.done
				return
			}
			w.Header().Set("Content-Type", string(h.mt))
			w.Header().Set("Docker-Content-Digest", digestOf(h.manifest).String())
			if h.trickleMan {
				h.trickle(h.manifest, 50*time.Millisecond)(w)
				return
			}
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

// trickle writes body one byte every every, until it ends or the client
// goes away.
func (h *hostileRegistry) trickle(body []byte, every time.Duration) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		for i := range body {
			if _, err := w.Write(body[i : i+1]); err != nil {
				return
			}
			h.sent.Add(1)
			w.(http.Flusher).Flush()
			select {
			case <-h.done:
				return
			case <-time.After(every):
			}
		}
	}
}

// TestPullHostileRegistry: an endless blob body stops at the descriptor's
// size with an error naming the digest; a registry that never answers, or
// whose body stalls after a byte, or trickles a byte every 50ms (a slow
// loris the idle timeout never cuts; a blob or the manifest), fails within
// its timeouts; a manifest that never gets response headers, or trickles,
// is tried as often as any transient failure; a config over MaxConfigBytes is refused before it is
// downloaded; Pin has the same timeouts.
func TestPullHostileRegistry(t *testing.T) {
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:` + strings.Repeat("0", 64) + `"]}}`)
	layer := []byte("a 354-byte blob, or so")
	big := []byte(strings.Repeat("a 64 KiB blob ", 64<<10/14))
	short := registry.WithTimeouts(registry.Timeouts{Dial: time.Second, TLS: time.Second, Headers: 300 * time.Millisecond, Idle: 300 * time.Millisecond})
	tests := []struct {
		name    string
		setup   func(h *hostileRegistry) v1.Hash
		pin     bool
		want    []string
		manGets int64 // manifest requests, when not 0
	}{
		{"endless blob body", func(h *hostileRegistry) v1.Hash {
			return h.image(config, int64(len(config)), layer, h.endless)
		}, false, []string{digestOf(layer).String(), fmt.Sprintf("more than the %d bytes", len(layer))}, 0},
		{"no response headers", func(h *hostileRegistry) v1.Hash {
			h.stallMan = true
			return digestOf([]byte("x"))
		}, false, []string{"timeout awaiting response headers", "the connect timeout"}, 2},
		{"slow-loris body", func(h *hostileRegistry) v1.Hash {
			return h.image(config, int64(len(config)), layer, func(w http.ResponseWriter) {
				w.Header().Set("Content-Length", fmt.Sprint(len(layer)))
				w.Write(layer[:1])
				w.(http.Flusher).Flush()
				<-h.done
			})
		}, false, []string{digestOf(layer).String(), "idle timeout"}, 0},
		{"trickling body", func(h *hostileRegistry) v1.Hash {
			return h.image(config, int64(len(config)), big, h.trickle(big, 50*time.Millisecond))
		}, false, []string{digestOf(big).String(), "/blobs/" + digestOf(big).String() + ": sent ", "under the minimum rate of 1024 bytes/s"}, 0},
		{"trickling manifest", func(h *hostileRegistry) v1.Hash {
			h.trickleMan = true
			return h.image(config, int64(len(config)), layer, func(w http.ResponseWriter) { w.Write(layer) })
		}, false, []string{"fetching manifest of", "/manifests/sha256:", ": sent ", "under the minimum rate of 1024 bytes/s"}, 2},
		{"config over the limit", func(h *hostileRegistry) v1.Hash {
			return h.image(config, 300<<20, layer, h.endless)
		}, false, []string{"config sha256:", "over the 8388608 byte limit"}, 0},
		{"pin: no response headers", func(h *hostileRegistry) v1.Hash {
			h.stallMan = true
			return v1.Hash{}
		}, true, []string{"timeout awaiting response headers"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHostileRegistry(t)
			d := tt.setup(h)
			start := time.Now()
			var err error
			out := filepath.Join(t.TempDir(), "out.tar")
			if tt.pin {
				_, err = Pin(context.Background(), h.host()+"/app:v1", "", short, registry.WithRetry(2, 10*time.Millisecond))
			} else {
				err = Pull(context.Background(), Request{ImageName: h.host() + "/app", ImageDigest: d.String()}, out, short, registry.WithRetry(2, 10*time.Millisecond))
			}
			took := time.Since(start)
			if err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Lstat(out); err == nil {
				t.Errorf("a failed pull left %s", out)
			}
			if n := h.manGets.Load(); tt.manGets != 0 && n != tt.manGets {
				t.Errorf("%d manifest requests, want %d (registry.WithRetry(2, …))", n, tt.manGets)
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

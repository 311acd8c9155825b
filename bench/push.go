package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/registrytest"
)

// push builds the stream of version v0 and of v1 over one cached layer,
// pushes v0 to a local docker-registry (internal/registrytest), then v1
// through a proxy that counts the bytes of blob uploads: only the changed
// layers (the app's and the root's) and the config may go up, not the
// cached layer.
func (c *cachedBench) push() (row, error) {
	salt := fmt.Sprintf("push-%d", time.Now().UnixNano())
	var streams [2]string
	for i := range streams {
		if _, err := c.build("stream", salt, fmt.Sprintf("v%d", i)); err != nil {
			return row{}, err
		}
		streams[i] = c.made[len(c.made)-1]
	}
	layer, err := c.nixBuild("layer", salt, "v0")
	if err != nil {
		return row{}, err
	}
	c.made = append(c.made, layer)
	layerBytes, err := dirBytes(filepath.Join(layer, "blobs"))
	if err != nil {
		return row{}, err
	}
	tb := &benchTB{dir: c.opts.work}
	defer tb.cleanup()
	reg, err := tb.run(func() *registrytest.Registry { return registrytest.Start(tb) })
	if err != nil {
		return row{}, err
	}
	counter := newUploadCounter(reg.Host)
	defer counter.srv.Close()
	if err := c.pushTo(streams[0], reg.Host+"/bench-app:v0"); err != nil {
		return row{}, err
	}
	start := time.Now()
	if err := c.pushTo(streams[1], counter.host+"/bench-app:v1"); err != nil {
		return row{}, err
	}
	secs := time.Since(start).Seconds()
	up := counter.total()
	r := row{name: "push of v1 to a registry holding v0", secs: secs, baseName: "cached layer bytes", base: float64(layerBytes),
		limit: 0.01, ratio: float64(up) / float64(layerBytes),
		note: fmt.Sprintf("%d bytes uploaded in %d blob uploads; the cached layer is %d bytes", up, counter.uploads(), layerBytes)}
	return r, nil
}

// pushTo pushes src to ref without its SBOM referrers, so that the bytes
// counted are the image's own.
func (c *cachedBench) pushTo(src, ref string) error {
	cmd := exec.CommandContext(c.ctx, c.opts.nixlayer, "push", "--insecure", "--no-sbom", src, ref)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nixlayer push %s %s: %w\n%s", src, ref, err, stderr.String())
	}
	return nil
}

// dirBytes returns the bytes of the regular files below dir.
func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// uploadCounter is a reverse proxy to a registry that counts the request
// bytes of blob uploads (PATCH and PUT under /blobs/uploads/).
type uploadCounter struct {
	host string
	srv  *httptest.Server
	mu   sync.Mutex
	n    int64
	reqs int
}

func newUploadCounter(upstream string) *uploadCounter {
	u := &uploadCounter{}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: upstream})
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			r.Body = &countingBody{ReadCloser: r.Body, u: u}
			u.mu.Lock()
			u.reqs++
			u.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	u.host = strings.TrimPrefix(u.srv.URL, "http://")
	return u
}

func (u *uploadCounter) total() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.n
}

func (u *uploadCounter) uploads() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reqs
}

type countingBody struct {
	io.ReadCloser
	u *uploadCounter
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.u.mu.Lock()
	b.u.n += int64(n)
	b.u.mu.Unlock()
	return n, err
}

// benchTB is the part of testing.TB that internal/registrytest uses, for a
// program: a failure ends run with an error instead of a test.
type benchTB struct {
	testing.TB
	dir      string
	cleanups []func()
	failed   bool
}

type tbFailure struct{ msg string }

func (t *benchTB) Helper()             {}
func (t *benchTB) Cleanup(f func())    { t.cleanups = append(t.cleanups, f) }
func (t *benchTB) Failed() bool        { return t.failed }
func (t *benchTB) Logf(string, ...any) {}
func (t *benchTB) Errorf(f string, a ...any) {
	t.failed = true
	panic(tbFailure{fmt.Sprintf(f, a...)})
}
func (t *benchTB) Fatalf(f string, a ...any) { t.Errorf(f, a...) }
func (t *benchTB) Skipf(f string, a ...any)  { t.Errorf(f, a...) }
func (t *benchTB) TempDir() string {
	d, err := os.MkdirTemp(t.dir, "registry-")
	if err != nil {
		t.Fatalf("making a directory for the registry: %v", err)
	}
	return d
}

// run calls f, turning a failure it reports into an error.
func (t *benchTB) run(f func() *registrytest.Registry) (r *registrytest.Registry, err error) {
	defer func() {
		if p := recover(); p != nil {
			fail, ok := p.(tbFailure)
			if !ok {
				panic(p)
			}
			err = fmt.Errorf("starting the registry: %s", fail.msg)
		}
	}()
	return f(), nil
}

func (t *benchTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

package registrytest

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Fault is what the proxy does to a request a rule matches.
type Fault int

const (
	// Status answers with the rule's status code instead of forwarding.
	Status Fault = iota + 1
	// Cut forwards the request but drops the connection after half of the
	// response body (the Content-Length announced in full).
	Cut
	// Corrupt forwards the request and flips one byte in the middle of the
	// response body.
	Corrupt
	// Drop reads up to half of the request body (uploads) and closes the
	// connection without an answer.
	Drop
)

// Match selects the requests a rule applies to.
type Match func(*http.Request) bool

// BlobGet matches downloads of blob contents (GET /v2/<name>/blobs/<digest>).
func BlobGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
}

// ManifestGet matches manifest downloads (GET or HEAD /v2/<name>/manifests/<ref>).
func ManifestGet(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.URL.Path, "/manifests/")
}

// ManifestPut matches manifest uploads.
func ManifestPut(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
}

// BlobUpload matches the requests that carry or commit blob uploads
// (POST, PATCH and PUT under /blobs/uploads/).
func BlobUpload(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead && strings.Contains(r.URL.Path, "/blobs/uploads/")
}

// Any matches every request.
func Any(*http.Request) bool { return true }

// Rule is one fault to inject.
type Rule struct {
	Match Match
	Fault Fault
	// Code is the status for Status faults.
	Code int
	// Times is how many matching requests get the fault; 0 means all.
	Times int
}

// Proxy is a fault-injecting reverse proxy in front of a registry.
type Proxy struct {
	// Host is "127.0.0.1:PORT" of the proxy.
	Host string

	mu     sync.Mutex
	rules  []*rule
	counts map[string]int
}

type rule struct {
	Rule
	hits int
}

// NewProxy starts a proxy to the registry at upstreamHost and closes it
// when the test ends.
func NewProxy(t testing.TB, upstreamHost string) *Proxy {
	t.Helper()
	target, err := url.Parse("http://" + upstreamHost)
	if err != nil {
		t.Fatalf("parsing upstream %q: %v", upstreamHost, err)
	}
	p := &Proxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := p.pick(r)
		if r2 != nil && r2.Fault == Status {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(r2.Code)
			fmt.Fprintf(w, "registrytest: injected status %d\n", r2.Code)
			return
		}
		if r2 != nil && r2.Fault == Drop {
			if r.ContentLength > 0 {
				_, _ = io.CopyN(io.Discard, r.Body, r.ContentLength/2)
			}
			panic(http.ErrAbortHandler)
		}
		if r2 == nil {
			rp.ServeHTTP(w, r)
			return
		}
		faulty := *rp
		faulty.FlushInterval = -1 // the client sees the bytes before a cut
		faulty.ModifyResponse = func(resp *http.Response) error {
			if resp.StatusCode != http.StatusOK || resp.ContentLength <= 1 {
				return nil
			}
			half := resp.ContentLength / 2
			if r2.Fault == Cut {
				resp.Body = &cutBody{r: io.LimitReader(resp.Body, half), c: resp.Body}
			} else {
				resp.Body = &corruptBody{r: resp.Body, c: resp.Body, at: half}
			}
			return nil
		}
		faulty.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.Host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// Inject adds rules; the first matching rule with hits left applies.
func (p *Proxy) Inject(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rules {
		p.rules = append(p.rules, &rule{Rule: r})
	}
}

// Clear removes every rule.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Count returns how many requests with the method whose path contains
// part the proxy has seen, e.g. Count("PUT", "/blobs/uploads/").
func (p *Proxy) Count(method, part string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k, v := range p.counts {
		m, path, _ := strings.Cut(k, " ")
		if m == method && strings.Contains(path, part) {
			n += v
		}
	}
	return n
}

// ResetCounts forgets the requests seen so far.
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = map[string]int{}
}

func (p *Proxy) pick(r *http.Request) *rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[r.Method+" "+r.URL.Path]++
	for _, ru := range p.rules {
		if ru.Match(r) && (ru.Times == 0 || ru.hits < ru.Times) {
			ru.hits++
			return ru
		}
	}
	return nil
}

// errCut is returned to the reverse proxy so that it aborts the response.
var errCut = errors.New("registrytest: connection cut by fault injection")

type cutBody struct {
	r io.Reader
	c io.Closer
}

func (b *cutBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = errCut
	}
	return n, err
}

func (b *cutBody) Close() error { return b.c.Close() }

type corruptBody struct {
	r   io.Reader
	c   io.Closer
	at  int64
	off int64
}

func (b *corruptBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if b.at >= b.off && b.at < b.off+int64(n) {
		p[b.at-b.off] ^= 0xff
	}
	b.off += int64(n)
	return n, err
}

func (b *corruptBody) Close() error { return b.c.Close() }

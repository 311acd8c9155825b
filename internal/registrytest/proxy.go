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
	"time"
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
	// Trickle forwards the request, reading its body (an upload) and
	// sending the response body Rule.Bytes bytes (default 1) every
	// Rule.Every (default 1s): a slow loris, never idle for long.
	Trickle
	// Endless answers 200 with an OCI image index that never ends.
	Endless
	// NoHeaders takes the request and never answers, until the client
	// goes away.
	NoHeaders
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

// ReferrersTagGet matches downloads of a referrers tag scheme's index
// (GET /v2/<name>/manifests/sha256-<hex>), which a push without the
// referrers API reads to add an artifact.
func ReferrersTagGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256-")
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
	// Bytes and Every pace Trickle faults.
	Bytes int
	Every time.Duration
}

// Proxy is a fault-injecting reverse proxy in front of a registry.
type Proxy struct {
	// Host is "127.0.0.1:PORT" of the proxy.
	Host string

	mu     sync.Mutex
	rules  []*rule
	counts map[string]int
	done   chan struct{} // closed when the test ends: trickles stop
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
	p := &Proxy{counts: map[string]int{}, done: make(chan struct{})}
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
		switch r2.Fault {
		case Endless:
			serveEndlessIndex(w)
			return
		case NoHeaders:
			select {
			case <-r.Context().Done():
			case <-p.done:
			}
			return
		}
		faulty := *rp
		faulty.FlushInterval = -1 // the client sees the bytes before a cut
		if r2.Fault == Trickle {
			if r.Body != nil {
				r.Body = &trickleBody{rc: r.Body, rule: r2.Rule, done: p.done}
			}
			faulty.ModifyResponse = func(resp *http.Response) error {
				resp.Body = &trickleBody{rc: resp.Body, rule: r2.Rule, done: p.done}
				return nil
			}
			faulty.ServeHTTP(w, r)
			return
		}
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
	t.Cleanup(func() { close(p.done) }) // first: a trickle may hold a handler
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

// trickleBody reads rule.Bytes bytes every rule.Every.
type trickleBody struct {
	rc   io.ReadCloser
	rule Rule
	done chan struct{}
}

func (b *trickleBody) Read(p []byte) (int, error) {
	n, every := b.rule.Bytes, b.rule.Every
	if n <= 0 {
		n = 1
	}
	if every <= 0 {
		every = time.Second
	}
	select {
	case <-b.done:
		return 0, errCut
	case <-time.After(every):
	}
	return b.rc.Read(p[:min(n, len(p))])
}

func (b *trickleBody) Close() error { return b.rc.Close() }

// serveEndlessIndex writes an OCI image index whose list of manifests never
// ends, until the client goes away.
func serveEndlessIndex(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`); err != nil {
		return
	}
	desc := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","digest":"sha256:` + strings.Repeat("ab", 32) + `","size":1234},`
	chunk := []byte(strings.Repeat(desc, 256))
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

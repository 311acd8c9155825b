package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Option configures Pull, Pin and Push.
type Option func(*options)

type options struct {
	platform   v1.Platform
	insecure   bool
	keychain   authn.Keychain
	transport  http.RoundTripper
	caCertFile string
	jobs       int
	attempts   int
	backoff    time.Duration
	progress   io.Writer
	tempDir    string
	timeouts   Timeouts
}

func makeOptions(opts []Option) *options {
	o := &options{
		platform: v1.Platform{OS: "linux", Architecture: "amd64"},
		keychain: authn.DefaultKeychain,
		jobs:     4,
		attempts: 4,
		backoff:  time.Second,
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithPlatform chooses the image of an index (a manifest list). The
// default is linux/amd64. An empty variant matches any variant.
func WithPlatform(p v1.Platform) Option { return func(o *options) { o.platform = p } }

// WithInsecure allows plain HTTP and unverified TLS certificates
// (pullImage's tlsVerify = false). Loopback registries use HTTP anyway.
func WithInsecure(insecure bool) Option { return func(o *options) { o.insecure = insecure } }

// WithKeychain sets where credentials come from; the default is
// authn.DefaultKeychain (the Docker config file and its credential helpers).
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithTransport sets the HTTP transport, for tests.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithCACertFile trusts the PEM certificates in file instead of the
// system's (a Nix build has no /etc/ssl: pass cacert's bundle).
func WithCACertFile(file string) Option { return func(o *options) { o.caCertFile = file } }

// WithJobs sets how many blobs move at once (default 4).
func WithJobs(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.jobs = n
		}
	}
}

// WithRetry sets how many times a transient failure (5xx or 429, a
// connection cut or reset, a timeout, a stalled or trickling transfer; see
// watchTransport) is tried in all, and the first pause, doubled after each try.
// The default is 4 tries from 1s.
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(o *options) {
		if attempts > 0 {
			o.attempts = attempts
		}
		o.backoff = backoff
	}
}

// WithTimeouts sets the network timeouts; zero fields keep their defaults
// (see DefaultTimeouts and the environment variables there).
func WithTimeouts(t Timeouts) Option { return func(o *options) { o.timeouts = t } }

// WithProgress reports progress to w: a bar when w is a terminal, plain
// lines otherwise. Without it nothing is reported.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithTempDir sets where blobs are kept while an archive is assembled
// (default: $TMPDIR).
func WithTempDir(dir string) Option { return func(o *options) { o.tempDir = dir } }

// nameOptions are the options for parsing references.
func (o *options) nameOptions() []name.Option {
	if o.insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// remoteOptions are the go-containerregistry options for one operation.
func (o *options) remoteOptions(ctxOpt remote.Option) ([]remote.Option, error) {
	to, err := o.timeouts.withDefaults()
	if err != nil {
		return nil, err
	}
	rt := o.transport
	if rt == nil {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		dialer := &net.Dialer{Timeout: to.Dial, KeepAlive: 30 * time.Second}
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return writeDeadlineConn{c, to.Idle}, nil
		}
		t.TLSHandshakeTimeout = to.TLS
		t.ResponseHeaderTimeout = to.Headers
		t.ExpectContinueTimeout = time.Second
		if o.insecure || o.caCertFile != "" {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: o.insecure} //nolint:gosec // tlsVerify = false asks for it
		}
		if o.caCertFile != "" {
			pem, err := os.ReadFile(o.caCertFile)
			if err != nil {
				return nil, fmt.Errorf("reading CA certificates: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("reading CA certificates %q: no PEM certificate found", o.caCertFile)
			}
			t.TLSClientConfig.RootCAs = pool
		}
		rt = t
	}
	rt = newWatchTransport(rt, to)
	steps := o.attempts
	return []remote.Option{
		ctxOpt,
		remote.WithTransport(rt),
		remote.WithAuthFromKeychain(o.keychain),
		remote.WithPlatform(o.platform),
		remote.WithJobs(o.jobs),
		remote.WithUserAgent("nixlayer"),
		remote.WithRetryBackoff(remote.Backoff{Duration: o.backoff, Factor: 2, Steps: steps}),
	}, nil
}

package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The bounds every request to a registry gets, whoever makes it (Pull's
// blob downloads, go-containerregistry's fetches and uploads), enforced by
// watchTransport, which sits under go-containerregistry's retries:
//
//   - a response body that sends nothing for the idle timeout, or that
//     moves fewer than MinRate bytes a second over a window of the idle
//     timeout (a trickle, which an idle timer restarted by every byte
//     never cuts), fails; so does an upload the registry takes that
//     slowly (a write waiting longer than the idle timeout fails on the
//     connection's write deadline). These are progressErrors: transient,
//     tried again;
//   - a timeout before the response (connect, TLS, response headers) is
//     returned as a progressError too: net/http's match
//     context.DeadlineExceeded, which go-containerregistry never retries;
//   - a response that is not a blob (a manifest, an index, a token, an
//     error) is cut at MaxDocumentBytes, whoever reads it: an endless
//     document fails with an error saying which document it was.
type watchTransport struct {
	rt      http.RoundTripper
	to      Timeouts // with defaults
	uploads *uploadNames
}

func newWatchTransport(rt http.RoundTripper, to Timeouts) *watchTransport {
	return &watchTransport{rt: rt, to: to, uploads: &uploadNames{}}
}

func (t *watchTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	blob := t.uploads.name(r)
	r2 := r
	if r.Body != nil && r.Body != http.NoBody {
		u := *r.URL
		u.RawQuery = "" // an upload's state, long and of no use to a reader
		what := "uploading to " + u.Redacted()
		if blob != "" {
			what = "uploading blob " + blob + " to " + u.Redacted()
		}
		r2 = r.WithContext(r.Context()) // a shallow copy, to replace the body
		r2.Body = t.watchUpload(r.Body, what)
		if r.GetBody != nil {
			r2.GetBody = func() (io.ReadCloser, error) {
				b, err := r.GetBody()
				if err != nil {
					return nil, err
				}
				return t.watchUpload(b, what), nil
			}
		}
	}
	resp, err := t.rt.RoundTrip(r2)
	if err != nil {
		return nil, t.explain(r, blob, err)
	}
	t.uploads.learn(r, resp)
	if resp.Body != nil && resp.Body != http.NoBody {
		resp.Body = t.watchResponse(r, resp)
	}
	return resp, nil
}

// explain turns a timeout before the response into a transient
// progressError naming the bound (and the blob an upload carries), and
// marks other failures as a roundTripError; an error of a request whose
// context ended, or of an upload's body, stays as it is.
func (t *watchTransport) explain(r *http.Request, blob string, err error) error {
	var pe *progressError
	var ne net.Error
	switch {
	case r.Context().Err() != nil || errors.As(err, &pe):
		return err
	case !errors.As(err, &ne) || !ne.Timeout():
		return &roundTripError{err}
	}
	prefix := ""
	if blob != "" {
		prefix = "uploading blob " + blob + ": "
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "write" {
		return &progressError{fmt.Sprintf("%sthe registry took no data for %s (the idle timeout; --idle-timeout or $%s raises it): %v", prefix, t.to.Idle, EnvIdleTimeout, err), false}
	}
	return &progressError{fmt.Sprintf("%s%v (the connect timeout, %s; --connect-timeout or $%s raises it)", prefix, err, t.to.Headers, EnvConnectTimeout), false}
}

func (t *watchTransport) watchUpload(rc io.ReadCloser, what string) io.ReadCloser {
	return &watchedBody{rc: rc, what: what, verb: "the registry took", meter: meter{window: t.to.Idle, minRate: t.to.MinRate}, limit: -1}
}

// watchResponse bounds resp's body: idle and rate for every body, and
// MaxDocumentBytes for what is not a blob.
func (t *watchTransport) watchResponse(r *http.Request, resp *http.Response) io.ReadCloser {
	b := &watchedBody{rc: resp.Body, what: r.URL.Redacted(), verb: "sent", idle: t.to.Idle, limit: -1,
		meter: meter{window: t.to.Idle, minRate: t.to.MinRate, start: time.Now()}}
	if !blobDownload(r) {
		b.limit, b.doc = MaxDocumentBytes, documentKind(r, resp)
	}
	b.timer = time.AfterFunc(t.to.Idle, b.expire)
	return b
}

// blobDownload reports whether r is a blob download (GET …/blobs/<digest>),
// or a redirect of one: what reads it bounds it by the blob's size.
func blobDownload(r *http.Request) bool {
	for r.Response != nil && r.Response.Request != nil {
		r = r.Response.Request
	}
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && !strings.Contains(r.URL.Path, "/blobs/uploads/")
}

// documentKind names the document a response holds, for errors.
func documentKind(r *http.Request, resp *http.Response) string {
	mt, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	switch {
	case strings.Contains(r.URL.Path, "/referrers/"):
		return "referrers index"
	case strings.Contains(r.URL.Path, "/manifests/") && types.MediaType(strings.TrimSpace(mt)).IsIndex():
		return "index"
	case strings.Contains(r.URL.Path, "/manifests/"):
		return "manifest"
	}
	return "response"
}

// watchedBody is a response body or an upload (a request body) under the
// bounds: idle (a response body only: a stalled upload fails on the
// connection's write deadline), the minimum rate, and a size limit for
// documents (limit < 0: none).
type watchedBody struct {
	rc     io.ReadCloser
	what   string // the URL, or the upload
	verb   string // "sent" or "the registry took", for errors
	doc    string // the document kind, when limit >= 0
	limit  int64
	total  int64
	meter  meter
	idle   time.Duration
	timer  *time.Timer
	mu     sync.Mutex
	timed  bool
	closed bool
}

func (b *watchedBody) expire() {
	b.mu.Lock()
	b.timed = true
	b.mu.Unlock()
	b.closeOnce()
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.limit >= 0 && int64(len(p)) > b.limit-b.total+1 {
		p = p[:b.limit-b.total+1] // at most one byte past the limit
	}
	n, err := b.rc.Read(p)
	b.total += int64(n)
	b.mu.Lock()
	timed := b.timed
	b.mu.Unlock()
	switch {
	case timed:
		return n, &progressError{fmt.Sprintf("no data from %s for %s (the idle timeout; --idle-timeout or $%s raises it)", b.what, b.idle, EnvIdleTimeout), true}
	case b.limit >= 0 && b.total > b.limit:
		b.abort()
		return n, fmt.Errorf("the %s at %s is over %d bytes, the limit for a document from a registry", b.doc, b.what, b.limit)
	case err != nil:
		b.stopTimer()
		return n, err
	}
	if got, took, slow := b.meter.add(n, time.Now()); slow {
		b.abort()
		return n, &progressError{fmt.Sprintf("%s: %s %d bytes in %s, under the minimum rate of %d bytes/s (--min-rate or $%s lowers it; the window is the idle timeout)",
			b.what, b.verb, got, took.Round(time.Millisecond), b.meter.minRate, EnvMinRate), true}
	}
	if n > 0 && b.timer != nil {
		b.timer.Reset(b.idle)
	}
	return n, nil
}

func (b *watchedBody) stopTimer() {
	if b.timer != nil {
		b.timer.Stop()
	}
}

// abort ends a response body that failed a bound (closing it drops the
// connection, so that the registry stops sending); an upload is left to
// the transport, which stops at the error and closes it.
func (b *watchedBody) abort() {
	if b.timer != nil {
		b.timer.Stop()
		b.closeOnce()
	}
}

func (b *watchedBody) Close() error {
	b.stopTimer()
	return b.closeOnce()
}

// closeOnce closes the body the first time only: a second Close of an
// upload's file would fail, and fail the request with it.
func (b *watchedBody) closeOnce() error {
	b.mu.Lock()
	done := b.closed
	b.closed = true
	b.mu.Unlock()
	if done {
		return nil
	}
	return b.rc.Close()
}

// meter measures a transfer's rate over windows of window.
type meter struct {
	window  time.Duration
	minRate int64 // bytes per second
	start   time.Time
	n       int64
}

// add counts n bytes moved at now. When a window has passed it reports
// whether the bytes it moved are under the minimum rate, and starts the
// next window.
func (m *meter) add(n int, now time.Time) (got int64, took time.Duration, slow bool) {
	if m.start.IsZero() {
		m.start = now // an upload's window starts at its first read
	}
	m.n += int64(n)
	took = now.Sub(m.start)
	if took < m.window {
		return 0, 0, false
	}
	got = m.n
	m.start, m.n = now, 0
	return got, took, float64(got) < float64(m.minRate)*took.Seconds()
}

// progressError is a transfer that stalled, trickled or timed out: a
// net.Error whose Timeout and Temporary are true, so that it is tried
// again. It does not unwrap: go-containerregistry never retries an error
// matching context.DeadlineExceeded, which net/http's timeouts do.
type progressError struct {
	msg  string
	body bool // of a body, not before the response (see bodyFailure)
}

func (e *progressError) Error() string   { return e.msg }
func (e *progressError) Timeout() bool   { return true }
func (e *progressError) Temporary() bool { return true }

// roundTripError is any other failure before the response, which
// go-containerregistry's transport decides to try again or not.
type roundTripError struct{ err error }

func (e *roundTripError) Error() string { return e.err.Error() }
func (e *roundTripError) Unwrap() error { return e.err }

// Temporary is the wrapped error's: go-containerregistry asks the error
// it is given, without unwrapping.
func (e *roundTripError) Temporary() bool {
	t, ok := e.err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// bodyFailure reports whether err is a transient failure of a response
// body (a connection cut or reset mid-body, a body that stalled or
// trickled): go-containerregistry's transport tries a request again, not
// the reading of its body, which tryBody does. Failures before the body
// were tried already.
func bodyFailure(err error) bool {
	var pe *progressError
	var re *roundTripError
	switch {
	case errors.As(err, &re):
		return false
	case errors.As(err, &pe):
		return pe.body
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// uploadNames names the blob an upload carries, for errors.
// go-containerregistry asks whether a blob exists (HEAD …/blobs/<digest>)
// and starts its upload (POST …/blobs/uploads/) with one request context,
// then sends the blob to the Location the POST returns (PATCH): the
// context names the digest for the POST, the Location for the PATCH.
// Requests that do not follow this pattern are named by their URL only.
type uploadNames struct {
	mu    sync.Mutex
	byCtx map[context.Context]string
	byURL map[string]string
}

// maxUploadNames bounds the names kept (blobs being uploaded).
const maxUploadNames = 4096

func (u *uploadNames) learn(r *http.Request, resp *http.Response) {
	ctx := r.Context()
	if !reflect.TypeOf(ctx).Comparable() {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byCtx == nil || len(u.byCtx)+len(u.byURL) > maxUploadNames {
		u.byCtx, u.byURL = map[context.Context]string{}, map[string]string{}
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodHead && strings.Contains(path, "/blobs/sha256:"):
		u.byCtx[ctx] = path[strings.LastIndex(path, "/")+1:]
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/blobs/uploads/") && u.byCtx[ctx] != "":
		if loc, err := r.URL.Parse(resp.Header.Get("Location")); err == nil && resp.Header.Get("Location") != "" {
			u.byURL[loc.String()] = u.byCtx[ctx]
		}
		delete(u.byCtx, ctx)
	}
}

// name returns the digest of the blob r uploads, or "".
func (u *uploadNames) name(r *http.Request) string {
	if r.Method != http.MethodPatch && r.Method != http.MethodPut {
		return ""
	}
	if d := r.URL.Query().Get("digest"); d != "" {
		return d
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.byURL[r.URL.String()]
}

// writeDeadlineConn fails a write (an upload, a request) that the peer
// does not take within idle: a registry that stops reading cannot hold a
// push forever.
type writeDeadlineConn struct {
	net.Conn
	idle time.Duration
}

func (c writeDeadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

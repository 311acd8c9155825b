package registrytest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// User and Password are the credentials a registry started WithAuth accepts.
const (
	User     = "nixlayer"
	Password = "test-password"
)

// htpasswdLine is User:bcrypt(Password) at cost 4, made once with
// python3's crypt.crypt(Password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)).
const htpasswdLine = User + ":$2b$04$b6qP.JU2ud/eKmP75kseqOkRofZAqWpjjXgG2bLmxIq.RZaPwGjdm\n"

// Registry is a running docker-registry server.
type Registry struct {
	// Host is "127.0.0.1:PORT", the registry part of an image reference.
	Host string
	// Dir holds the server's config.yml, htpasswd and storage.
	Dir string
}

// Option configures Start.
type Option func(*config)

type config struct{ auth bool }

// WithAuth makes the registry require HTTP basic authentication with User
// and Password (htpasswd), so anonymous requests get 401.
func WithAuth() Option { return func(c *config) { c.auth = true } }

// Start runs docker-registry on a free loopback port and stops it when the
// test ends. It skips the test when the binary is not installed.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	bin := testutil.RequireTool(t, "docker-registry")
	var c config
	for _, o := range opts {
		o(&c)
	}
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		host, err := freeHost()
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		r := &Registry{Host: host, Dir: dir}
		if lastErr = r.start(t, bin, c); lastErr == nil {
			return r
		}
	}
	t.Fatalf("starting docker-registry: %v", lastErr)
	return nil
}

func (r *Registry) start(t testing.TB, bin string, c config) error {
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: nixlayer-registrytest
`, filepath.Join(r.Dir, "storage"), r.Host)
	if c.auth {
		htpasswd := filepath.Join(r.Dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(htpasswdLine), 0o600); err != nil {
			return err
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: registrytest\n    path: %s\n", htpasswd)
	}
	cfgPath := filepath.Join(r.Dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-done:
			return fmt.Errorf("docker-registry exited (%v):\n%s", err, out.String())
		default:
		}
		resp, err := http.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("docker-registry on %s did not answer in 15s:\n%s", r.Host, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("docker-registry output (last lines):\n%s", lastLines(out.String(), 10))
		}
	})
	return nil
}

func freeHost() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a child's
// stdout and stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

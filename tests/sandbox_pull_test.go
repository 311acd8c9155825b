package tests

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/pull"
)

// TestPullImageSandboxTLS runs pullImage, a fixed-output derivation, in the
// sandbox against a registry on 127.0.0.1 behind TLS: a fixed-output build
// shares the host's network but not its files, so the CA it trusts must
// come from the store (caCertFile); without it the build fails naming the
// certificate. The proxy counts the requests that reach it, which shows
// that the build really ran and fetched.
func TestPullImageSandboxTLS(t *testing.T) {
	exe := testutil.Exe(t)
	reg := registrytest.Start(t)
	upstream := &url.URL{Scheme: "http", Host: reg.Host}
	var blobGets atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if registrytest.BlobGet(r) {
			blobGets.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	// The handshakes refused on purpose (no CA) are not news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	caFile := filepath.Join(t.TempDir(), "test-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}

	img := testutil.NixBuild(t, `nl.buildImage { name = "tlspull"; tag = "v1"; contents = [ testPkgs.hello ]; }`)
	testutil.Run(t, "", nil, exe, "push", "--quiet", img, reg.Host+"/tlspull:v1")
	var p pull.Pinned
	js := testutil.Run(t, "", nil, exe, "pin", "--quiet", "--json", "--ca-cert-file", caFile, host+"/tlspull:v1")
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatalf("pin printed %q: %v", js, err)
	}
	nonce := make([]byte, 6)
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	pullExpr := func(name, extra string) string {
		return pullNix(t, fmt.Sprintf(`rp.pullImage { name = %q; imageName = %q; imageDigest = %q; sha256 = %q; finalImageName = %q; finalImageTag = %q; %s }`,
			name, p.ImageName, p.ImageDigest, p.Sha256, p.FinalImageName, p.FinalImageTag, extra))
	}
	n := hex.EncodeToString(nonce)

	t.Run("caCertFile from the store", func(t *testing.T) {
		// The name is new on each run, so the output cannot be there yet.
		expr := pullExpr("tlspull-"+n+".tar", fmt.Sprintf(`caCertFile = builtins.path { path = %q; name = "test-ca.pem"; };`, caFile))
		before := blobGets.Load()
		pulled := testutil.NixBuild(t, expr)
		if blobGets.Load() == before {
			t.Errorf("pullImage built %s without fetching a blob through the proxy", pulled)
		}
		if got, want := layerDigestsOf(t, pulled), layerDigestsOf(t, img); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("pulled layers %v, pushed %v", got, want)
		}
	})
	t.Run("no CA: a clear error", func(t *testing.T) {
		_, errOut, err := testutil.NixBuildErr(t, pullExpr("tlspull-noca-"+n+".tar", ""))
		if err == nil || !strings.Contains(errOut, "certificate signed by unknown authority") || !strings.Contains(errOut, host) {
			t.Errorf("pullImage over TLS without caCertFile: %v\n%s", err, errOut)
		}
	})
}

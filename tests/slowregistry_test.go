package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

// measured is a finished run of the nixlayer binary.
type measured struct {
	stdout, stderr string
	err            error
	took           time.Duration
	peakKiB        int64 // the process's peak RSS
}

// runMeasured runs the nixlayer binary with args (and env) under GNU
// time, which measures its peak RSS (a child of the test process would
// report the test's own RSS: Linux carries the parent's high-water mark
// through fork and exec).
func runMeasured(t *testing.T, env []string, args ...string) measured {
	t.Helper()
	timeBin := testutil.RequireTool(t, "time")
	rss := filepath.Join(t.TempDir(), "rss")
	cmd := exec.Command(timeBin, append([]string{"-f", "%M", "-o", rss, testutil.Exe(t)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	m := measured{stdout: stdout.String(), stderr: stderr.String(), err: err, took: time.Since(start)}
	b, rerr := os.ReadFile(rss)
	lines := strings.Fields(string(b))
	if rerr != nil || len(lines) == 0 {
		t.Fatalf("no peak RSS from GNU time: %v %q", rerr, b)
	}
	if m.peakKiB, rerr = strconv.ParseInt(lines[len(lines)-1], 10, 64); rerr != nil {
		t.Fatalf("peak RSS from GNU time: %v", rerr)
	}
	t.Logf("nixlayer %s: %v after %v, peak RSS %d MiB\n%s", args[0], err, m.took.Round(time.Millisecond), m.peakKiB>>10, lastLine(m.stderr))
	return m
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// check fails t when m does not fail, or fails without each of want in
// its error, or after more than maxTook, or over maxMiB of peak RSS.
func (m measured) check(t *testing.T, want []string, maxTook time.Duration, maxMiB int64) {
	t.Helper()
	if m.err == nil {
		t.Fatalf("succeeded:\n%s", m.stderr)
	}
	for _, w := range want {
		if !strings.Contains(m.stderr, w) {
			t.Errorf("error does not contain %q:\n%s", w, m.stderr)
		}
	}
	if m.took > maxTook {
		t.Errorf("took %v, want at most %v", m.took, maxTook)
	}
	if m.peakKiB > maxMiB<<10 {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", m.peakKiB>>10, maxMiB)
	}
}

// bigImage writes a docker-archive of an image with one random 32 MiB
// layer (more than the kernel's socket buffers take at once) and returns
// it and its layer's digest.
func bigImage(t *testing.T) (string, v1.Hash) {
	img, err := random.Image(32<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	layer, _ := ls[0].Digest()
	src := filepath.Join(t.TempDir(), "big.tar")
	if err := tarball.WriteToFile(src, name.MustParseReference("big:v1"), img); err != nil {
		t.Fatal(err)
	}
	return src, layer
}

// TestTrickleRegistry: a registry that sends blobs a byte every 200ms
// (never idle for the 1s idle timeout; the attack of issue 27 sent one
// every 5s against 60s) is abandoned by `nixlayer pull` and by pullImage in
// the sandbox, with errors naming the registry, the blob and the bound,
// after 4 tries; one that takes uploads a byte at a time, by `nixlayer
// push`. Nothing is left at the output or the destination.
func TestTrickleRegistry(t *testing.T) {
	reg := registrytest.Start(t)
	src, layer := bigImage(t)
	proxy := registrytest.NewProxy(t, reg.Host)
	trickle := registrytest.Rule{Fault: registrytest.Trickle, Bytes: 1, Every: 200 * time.Millisecond}

	t.Run("pull", func(t *testing.T) {
		img, err := random.Image(64<<10, 1)
		if err != nil {
			t.Fatal(err)
		}
		digest, _ := img.Digest()
		ref, _ := name.ParseReference(reg.Host + "/pulled:v1")
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		rule := trickle
		rule.Match = registrytest.BlobGet
		proxy.Inject(rule)
		defer proxy.Clear()
		out := filepath.Join(t.TempDir(), "out.tar")
		proxy.ResetCounts()
		m := runMeasured(t, nil, "pull", "--quiet", "--insecure", "--idle-timeout", "1s", "--out", out, proxy.Host+"/pulled@"+digest.String())
		// 4 tries of about 1.2s and pauses of 1+2+4s: about 12s.
		m.check(t, []string{"downloading blob sha256:", proxy.Host + "/pulled@" + digest.String(), "under the minimum rate of 1024 bytes/s"}, 30*time.Second, 64)
		if n := proxy.Count("GET", "/blobs/sha256:"); n < 4 || n > 8 {
			t.Errorf("%d blob downloads, want 4 tries of each blob fetched at once", n)
		}
		if _, err := os.Lstat(out); err == nil {
			t.Errorf("a failed pull left %s", out)
		}

		t.Run("pullImage in the sandbox", func(t *testing.T) {
			start := time.Now()
			_, errOut, err := testutil.NixBuildErr(t, pullNix(t, fmt.Sprintf(`rp.pullImage { imageName = "%s/pulled"; imageDigest = "%s"; sha256 = "%s"; tlsVerify = false; idleTimeout = "1s"; minRate = 2048; }`,
				proxy.Host, digest, strings.Repeat("0", 52))))
			took := time.Since(start)
			if err == nil || !strings.Contains(errOut, "under the minimum rate of 2048 bytes/s") || !strings.Contains(errOut, proxy.Host) {
				t.Errorf("pullImage from a trickling registry: %v after %v\n%s", err, took, errOut)
			}
			if took > 60*time.Second {
				t.Errorf("pullImage took %v", took)
			}
			t.Logf("pullImage failed after %v", took.Round(time.Millisecond))
		})
	})

	t.Run("push", func(t *testing.T) {
		rule := trickle
		rule.Match, rule.Every = registrytest.BlobUpload, time.Millisecond
		proxy.Inject(rule)
		defer proxy.Clear()
		dest := proxy.Host + "/pushed:v1"
		m := runMeasured(t, nil, "push", "--quiet", "--idle-timeout", "1s", src, dest)
		// 4 tries of 2-3s and pauses of 1+2+4s.
		m.check(t, []string{dest, "uploading blob " + layer.String(), "the idle timeout"}, 40*time.Second, 64)
		if n := proxy.Count("PATCH", "/blobs/uploads/"); n < 4 {
			t.Errorf("%d uploads, want the layer's 4 tries", n)
		}
		upstream, _ := name.ParseReference(reg.Host + "/pushed:v1")
		if _, err := remote.Head(upstream); err == nil {
			t.Error("a failed push left an image at the destination")
		}
	})
}

// TestHeaderlessRegistry: a registry that takes manifest requests and
// never answers them is tried 4 times (the README's count for transient
// failures), each within the connect timeout, by pin and by pull.
func TestHeaderlessRegistry(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host)
	proxy.Inject(registrytest.Rule{Match: registrytest.ManifestGet, Fault: registrytest.NoHeaders})
	digest := "sha256:" + strings.Repeat("ab", 32)
	out := filepath.Join(t.TempDir(), "out.tar")
	for _, args := range [][]string{
		{"pin", "--quiet", "--insecure", "--connect-timeout", "300ms", proxy.Host + "/app:v1"},
		{"pull", "--quiet", "--insecure", "--connect-timeout", "300ms", "--out", out, proxy.Host + "/app@" + digest},
	} {
		t.Run(args[0], func(t *testing.T) {
			proxy.ResetCounts()
			m := runMeasured(t, nil, args...)
			// 4 tries of 300ms and pauses of 1+2+4s: about 8s.
			m.check(t, []string{proxy.Host + "/app", "timeout awaiting response headers", "--connect-timeout"}, 20*time.Second, 64)
			if n := proxy.Count("GET", "/manifests/"); n != 4 {
				t.Errorf("%d manifest requests, want 4 tries", n)
			}
			if _, err := os.Lstat(out); err == nil {
				t.Errorf("a failed pull left %s", out)
			}
		})
	}
}

// TestPushEndlessReferrersIndex: a registry without the referrers API
// whose referrers tag (sha256-<hex>) serves an index that never ends.
// Push reads it to add the SBOM artifacts: it stops at 8 MiB, saying it
// was an index; the image is pushed (a registry that refuses the
// artifacts gets a warning), the referrers tag is not written, and memory
// stays bounded (the attack reached 1 GiB).
func TestPushEndlessReferrersIndex(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host)
	src := testutil.NixBuild(t, `nl.buildLayeredImage { name = "endless-referrers"; tag = "v1"; contents = [ testPkgs.hello ]; }`)
	proxy.Inject(registrytest.Rule{Match: registrytest.ReferrersTagGet, Fault: registrytest.Endless})
	dest := proxy.Host + "/endless:v1"
	m := runMeasured(t, nil, "push", "--quiet", src, dest)
	if m.err != nil {
		t.Fatalf("push: %v\n%s", m.err, m.stderr)
	}
	for _, w := range []string{"its SBOM was not attached", "the index at http://" + proxy.Host + "/v2/endless/manifests/sha256-", "is over 8388608 bytes"} {
		if !strings.Contains(m.stderr, w) {
			t.Errorf("push's warning does not contain %q:\n%s", w, m.stderr)
		}
	}
	if m.took > 60*time.Second || m.peakKiB > 80<<10 {
		t.Errorf("push took %v, peak RSS %d MiB; want at most 60s and 80 MiB", m.took, m.peakKiB>>10)
	}
	pushed, err := name.NewDigest(strings.TrimSpace(m.stdout))
	if err != nil {
		t.Fatalf("push printed %q: %v", m.stdout, err)
	}
	upstream, _ := name.ParseReference(reg.Host + "/endless:sha256-" + strings.TrimPrefix(pushed.DigestStr(), "sha256:"))
	if _, err := remote.Head(upstream); err == nil {
		t.Error("the referrers tag was written from an index read in part")
	}
}

package tests

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// Large files a root script makes stay on disk until the image is
// written: nixlayer's memory does not grow with them. A stream script,
// replayed once the build is gone, holds them, within a bound.

// buildScriptCLI runs `nixlayer build-image` over busybox with the root
// script given by flag (--run-as-root, --fake-root-commands) and extra
// flags, measuring its peak RSS (MiB); it returns the output, stderr,
// the peak RSS and the error.
func buildScriptCLI(t *testing.T, flag, script string, extra ...string) (string, string, int64, error) {
	t.Helper()
	bb, reg := busyboxClosure(t)
	out := filepath.Join(t.TempDir(), "img.tar")
	args := append([]string{"build-image", "--closure", reg, "--out", out, "--name", "spool",
		"--contents", bb, "--shell", bb + "/bin/sh", flag, script}, extra...)
	cmd, rssFile := testutil.MeasuredCommand(t, true, testutil.Exe(t), args...)
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "NIX_ATTRS_JSON_FILE=", "TMPDIR="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	rss := testutil.PeakRSSMiB(cmd, rssFile)
	t.Logf("%s: peak RSS %d MiB", t.Name(), rss)
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the build left %d files in its temporary directory (%s...)", len(left), left[0].Name())
	}
	return out, stderr.String(), rss, err
}

// sparseDigest is the sha256 of a file of size bytes starting with head
// and zeros after it, as `echo ... > f; truncate -s` makes.
func sparseDigest(head string, size int64) string {
	h := sha256.New()
	h.Write([]byte(head))
	io.CopyN(h, zeros{}, size-int64(len(head)))
	return hex.EncodeToString(h.Sum(nil))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// walkTop gives each entry of an image's top layer to fn, with its
// content.
func walkTop(t *testing.T, archive string, fn func(h *tar.Header, r io.Reader)) {
	t.Helper()
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ls[len(ls)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(h, tr)
	}
}

// topFiles hashes the regular files of an image's top layer, by name.
func topFiles(t *testing.T, archive string) map[string]string {
	t.Helper()
	out := map[string]string{}
	walkTop(t, archive, func(h *tar.Header, r io.Reader) {
		if h.Typeflag != tar.TypeReg {
			return
		}
		s := sha256.New()
		if _, err := io.Copy(s, r); err != nil {
			t.Fatal(err)
		}
		out[h.Name] = hex.EncodeToString(s.Sum(nil))
	})
	return out
}

// TestRootScriptLargeFiles: 4 sparse files of 200 MiB a root script
// makes are in the image, byte for byte, and nixlayer's peak RSS stays
// far below their size (they were read whole into memory: about 800 MiB).
func TestRootScriptLargeFiles(t *testing.T) {
	const (
		maxRSS = 100 // MiB
		size   = 200 << 20
		make4  = "echo hello > f1 && truncate -s 200M f1 f2 f3 f4"
	)
	cases := []struct {
		name, flag, script, dir string
		extra                   []string
	}{
		{"fakeRootCommands", "--fake-root-commands", make4, "", []string{"--layering", "popularity"}},
		{"runAsRoot", "--run-as-root", "mkdir /big && cd /big && " + make4, "big/", nil},
	}
	hello, empty := sparseDigest("hello\n", size), sparseDigest("", size)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, rss, err := buildScriptCLI(t, c.flag, c.script, c.extra...)
			if err != nil {
				t.Fatalf("the build failed: %v\n%s", err, lastLines(errOut, 12))
			}
			if rss > maxRSS {
				t.Errorf("peak RSS %d MiB, want %d at most", rss, maxRSS)
			}
			files := topFiles(t, out)
			for name, want := range map[string]string{"f1": hello, "f2": empty, "f3": empty, "f4": empty} {
				if got := files[c.dir+name]; got != want {
					t.Errorf("/%s%s: sha256 %q, want %s", c.dir, name, got, want)
				}
			}
		})
	}
}

// TestStreamRootScriptFiles: a stream script holds what its root script
// makes, replayed after the build's tree is gone; more than it can hold
// is an error naming the file.
func TestStreamRootScriptFiles(t *testing.T) {
	stream := []string{"--stream", "--layering", "popularity"}
	t.Run("small files replayed", func(t *testing.T) {
		script, errOut, _, err := buildScriptCLI(t, "--fake-root-commands", "echo hello > f1 && truncate -s 3M f1", stream...)
		if err != nil {
			t.Fatalf("the build failed: %v\n%s", err, lastLines(errOut, 12))
		}
		archive := filepath.Join(t.TempDir(), "img.tar")
		testutil.Run(t, "", nil, script, "-o", archive)
		if got, want := topFiles(t, archive)["f1"], sparseDigest("hello\n", 3<<20); got != want {
			t.Errorf("/f1: sha256 %q, want %s", got, want)
		}
	})
	t.Run("30 MiB, near the bound", func(t *testing.T) {
		script, errOut, rss, err := buildScriptCLI(t, "--fake-root-commands", "truncate -s 30M a", stream...)
		if err != nil {
			t.Fatalf("the build failed: %v\n%s", err, lastLines(errOut, 12))
		}
		// The script's JSON is marshalled whole (base64 of the files): the
		// peak is 207-252 MiB on one machine, by when the collector runs;
		// a copy more of the files would pass 300.
		if rss > 300 {
			t.Errorf("peak RSS %d MiB, want 300 at most", rss)
		}
		archive := filepath.Join(t.TempDir(), "img.tar")
		testutil.Run(t, "", nil, script, "-o", archive)
		if got, want := topFiles(t, archive)["a"], sparseDigest("", 30<<20); got != want {
			t.Errorf("/a: sha256 %q, want %s", got, want)
		}
	})
	t.Run("more than a stream script holds", func(t *testing.T) {
		_, errOut, rss, err := buildScriptCLI(t, "--fake-root-commands", "truncate -s 20M a && truncate -s 20M b", stream...)
		if err == nil {
			t.Fatal("the build succeeded")
		}
		for _, w := range []string{"fakeRootCommands made /b (20971520 bytes), past the 33554432 bytes", "stream script"} {
			if !strings.Contains(errOut, w) {
				t.Errorf("the error does not say %q:\n%s", w, lastLines(errOut, 12))
			}
		}
		if rss > 150 {
			t.Errorf("peak RSS %d MiB, want 150 at most", rss)
		}
	})
}

// TestRootScriptEtcLinkedOut: a script that makes /etc a link to / gets
// its config.User checked against its own /passwd, as the image would
// find it, never against the build machine's /etc/passwd (whose users,
// in the sandbox, are root, nixbld and nobody).
func TestRootScriptEtcLinkedOut(t *testing.T) {
	scriptFails(t, "buildLayeredImage",
		`enableFakechroot = true; fakeRootCommands = "ln -s / /etc && echo app:x:1000:1000::/:/bin/sh > /passwd"; config.User = "nixbld";`,
		[]string{`config.User = "nixbld": user "nixbld" is not in the /etc/passwd fakeRootCommands left (its users are app)`})
}

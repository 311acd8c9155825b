package push

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/pull"
	"github.com/nixlayer/nixlayer/registry"
	"github.com/nixlayer/nixlayer/source"
)

// sources pulls img from the registry into every source kind Push reads.
func sources(t *testing.T, host, repo string) map[base.Format]string {
	t.Helper()
	r, err := name.ParseReference(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := remote.Head(r)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := map[base.Format]string{}
	for kind, f := range map[base.Format]format.Format{base.DockerArchive: format.DockerArchive, base.OCILayout: format.OCILayout, base.OCIArchive: format.OCIArchive} {
		p := filepath.Join(dir, string(kind))
		req := pull.Request{ImageName: host + "/" + strings.Split(repo, ":")[0], ImageDigest: digest.Digest.String(), FinalImageName: "src", FinalImageTag: "v1", Format: f}
		if err := pull.Pull(context.Background(), req, p); err != nil {
			t.Fatal(err)
		}
		out[kind] = p
	}
	script := filepath.Join(dir, "stream")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec cat "+out[base.DockerArchive]+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out[base.Executable] = script
	return out
}

func TestDetectSource(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	registrytest.Put(t, host+"/src:v1", registrytest.RandomImage(t))
	srcs := sources(t, host, "src:v1")
	for kind, p := range srcs {
		t.Run(string(kind), func(t *testing.T) {
			got, err := source.Detect(p)
			if err != nil || got != kind {
				t.Errorf("DetectSource = %q, %v; want %q", got, err, kind)
			}
		})
	}
	dir := t.TempDir()
	notTar := filepath.Join(dir, "not-a-tar")
	os.WriteFile(notTar, bytes.Repeat([]byte("x"), 2000), 0o644)
	emptyTar := filepath.Join(dir, "empty.tar")
	os.WriteFile(emptyTar, registrytest.TarOf(t, "hello", "world"), 0o644)
	for _, tt := range []struct{ name, path, err string }{
		{"missing", filepath.Join(dir, "missing"), "no such file"},
		{"plain directory", dir, "without an oci-layout file"},
		{"not a tar", notTar, "not a docker-archive, OCI archive or layout"},
		{"other tar", emptyTar, "neither manifest.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := source.Detect(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want %q", err, tt.err)
			}
		})
	}
}

func TestPush(t *testing.T) {
	host, reqs := registrytest.InProcess(t)
	img := registrytest.RandomImage(t)
	registrytest.Put(t, host+"/src:v1", img)
	want := strings.Join(registrytest.LayerDigests(t, img), " ")
	for kind, p := range sources(t, host, "src:v1") {
		t.Run(string(kind), func(t *testing.T) {
			dest := host + "/pushed/" + string(kind) + ":v1"
			var progress bytes.Buffer
			pushed, err := Push(context.Background(), p, dest, registry.WithProgress(&progress), registry.WithJobs(2))
			if err != nil {
				t.Fatal(err)
			}
			ref, err := name.ParseReference(dest)
			if err != nil {
				t.Fatal(err)
			}
			got, err := remote.Image(ref)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := got.Digest(); d != pushed.Digest {
				t.Errorf("registry has %s, Push said %s", d, pushed.Digest)
			}
			if pushed.Reference != ref.Context().String()+"@"+pushed.Digest.String() {
				t.Errorf("reference %s", pushed.Reference)
			}
			if g := strings.Join(registrytest.LayerDigests(t, got), " "); g != want {
				t.Errorf("layers %s, want %s", g, want)
			}
			if !strings.Contains(progress.String(), "(25%)") || !strings.Contains(progress.String(), ": done, ") || strings.Contains(progress.String(), "\r") {
				t.Errorf("want plain progress lines from 25%% to done:\n%s", progress.String())
			}
			// Pushing again uploads no blob.
			before := reqs.Count("PUT", "/blobs/uploads/") + reqs.Count("PATCH", "/blobs/uploads/")
			if _, err := Push(context.Background(), p, dest); err != nil {
				t.Fatal(err)
			}
			if after := reqs.Count("PUT", "/blobs/uploads/") + reqs.Count("PATCH", "/blobs/uploads/"); after != before {
				t.Errorf("a second push uploaded %d blobs requests", after-before)
			}
		})
	}
}

func TestPushBadInput(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	registrytest.Put(t, host+"/src:v1", registrytest.RandomImage(t))
	srcs := sources(t, host, "src:v1")
	failing := filepath.Join(t.TempDir(), "failing")
	os.WriteFile(failing, []byte("#!/bin/sh\necho broken >&2\nexit 3\n"), 0o755)
	for _, tt := range []struct{ name, src, dest, err string }{
		{"bad destination", srcs[base.DockerArchive], host + "/Bad Name", `reading destination "` + host + `/Bad Name"`},
		{"failing stream", failing, host + "/x:v1", `running image stream "` + failing + `"`},
		{"missing source", "/nonexistent/image.tar", host + "/x:v1", "no such file"},
		{"daemon needs a tag for OCI", srcs[base.OCILayout], "docker-daemon:", "name the image to load"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Push(context.Background(), tt.src, tt.dest, fast)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want %q", err, tt.err)
			}
		})
	}
}

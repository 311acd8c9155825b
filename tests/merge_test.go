package tests

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/compression"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

// mergeExamples is nixpkgs' mergeImages examples (examples.nix:
// mergedBashAndRedis, mergedBashNoTagAndRedis, mergedBashFakeRoot,
// mergeVaryingCompressor) with busybox stand-ins: "bash" is busybox,
// "redis" an image on top of it. Names carry id so that parallel runs on
// one Docker engine do not meet. mergedBashFakeRoot's image sets the owner
// of /home/alice with fakeRootCommands (TestDockerToolsExamples runs that
// form); here the same owner comes from `users`, nixlayer's declared way.
func mergeExamples(id string) string {
	return fmt.Sprintf(`let
  bash = nl.buildImage { name = "merge-bash-%[1]s"; tag = "latest"; contents = testPkgs.bbBin; };
  bashNoTag = nl.buildImage { name = "merge-bash-notag-%[1]s"; contents = testPkgs.bbBin; };
  # No SBOM (which names the image) in bashUncompressed and bashZstd, nor in
  # streamed and ociArchive: each zstd image's layers are then tars that
  # Docker 20.10, unable to unpack zstd, has from the uncompressed one when
  # it loads the zstd one.
  bashUncompressed = nl.buildImage { name = "merge-bash-none-%[1]s"; tag = "latest"; contents = testPkgs.bbBin; compressor = "none"; sbom = false; };
  bashZstd = nl.buildImage { name = "merge-bash-zstd-%[1]s"; tag = "latest"; contents = testPkgs.bbBin; compressor = "zstd"; sbom = false; };
  redis = nl.buildImage {
    name = "merge-redis-%[1]s"; tag = "latest"; fromImage = bash;
    contents = testPkgs.hello; config.Cmd = [ "/bin/hello" ];
  };
  fakeRoot = nl.buildLayeredImage {
    name = "merge-fakeroot-%[1]s"; tag = "latest"; contents = [ testPkgs.bbBin ];
    users = [ { name = "alice"; uid = 1000; } ];
  };
  streamed = nl.streamLayeredImage { name = "merge-stream-%[1]s"; tag = "v1"; contents = [ testPkgs.hello testPkgs.bbBin ]; config.Cmd = [ "/bin/hello" ]; sbom = false; };
  ociArchive = nl.buildLayeredImage { name = "merge-oci-%[1]s"; tag = "v2"; contents = [ testPkgs.hello testPkgs.bbBin ]; format = "oci-archive"; compression = "zstd"; sbom = false; };
  ociLayout = nl.buildImage { name = "merge-layout-%[1]s"; tag = "v3"; contents = testPkgs.bbBin; format = "oci-layout"; };
in [
  (nl.mergeImages [ bash redis ])
  (nl.mergeImages [ bashNoTag redis ])
  (nl.mergeImages [ bash fakeRoot ])
  (nl.mergeImages [ redis bashUncompressed bashZstd ])
  (nl.mergeImages [ streamed ociArchive ociLayout bash redis ])
  bashNoTag bash redis bashZstd
]`, id)
}

func fileCompression(t *testing.T, path string) compression.Compression {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, compression.MagicLen)
	n, _ := io.ReadFull(f, b)
	return compression.Sniff(b[:n])
}

func TestMergeImages(t *testing.T) {
	id := fmt.Sprint(os.Getpid())
	paths := strings.Fields(testutil.NixBuild(t, mergeExamples(id)))
	if len(paths) != 9 {
		t.Fatalf("nix-build gave %q", paths)
	}
	bashRedis, noTagRedis, fakeRoot, varying, formats, bashNoTag := paths[0], paths[1], paths[2], paths[3], paths[4], paths[5]
	bash, redis, bashZstd := paths[6], paths[7], paths[8]
	noTag := "merge-bash-notag-" + id + ":" + strings.SplitN(filepath.Base(bashNoTag), "-", 2)[0]
	want := map[string][]string{
		bashRedis:  {"merge-bash-" + id + ":latest", "merge-redis-" + id + ":latest"},
		noTagRedis: {noTag, "merge-redis-" + id + ":latest"},
		fakeRoot:   {"merge-bash-" + id + ":latest", "merge-fakeroot-" + id + ":latest"},
		varying:    {"merge-redis-" + id + ":latest", "merge-bash-none-" + id + ":latest", "merge-bash-zstd-" + id + ":latest"},
		formats: {"merge-stream-" + id + ":v1", "merge-oci-" + id + ":v2", "merge-layout-" + id + ":v3",
			"merge-bash-" + id + ":latest", "merge-redis-" + id + ":latest"},
	}

	t.Run("every image, each blob once", func(t *testing.T) {
		for p, tags := range want {
			m, names := testutil.DockerArchive(t, p)
			if got := testutil.RepoTags(m); !slices.Equal(got, tags) {
				t.Errorf("%s: RepoTags %q, want %q", filepath.Base(p), got, tags)
			}
			sorted := slices.Clone(names)
			slices.Sort(sorted)
			if len(slices.Compact(sorted)) != len(names) {
				t.Errorf("%s: a member is stored twice: %q", filepath.Base(p), names)
			}
			for _, e := range m {
				for _, l := range append([]string{e.Config}, e.Layers...) {
					if !slices.Contains(names, l) {
						t.Errorf("%s: %s names %s, which is not in the archive", filepath.Base(p), e.RepoTags, l)
					}
				}
			}
		}
		// redis is bash plus a layer: the merged archive holds bash's layer once.
		m, _ := testutil.DockerArchive(t, bashRedis)
		if len(m) != 2 || len(m[1].Layers) != len(m[0].Layers)+1 || m[1].Layers[0] != m[0].Layers[0] {
			t.Errorf("bash and redis do not share the base layer: %+v", m)
		}
	})

	t.Run("compressed as the last image, as dockerTools", func(t *testing.T) {
		for merged, last := range map[string]string{bashRedis: redis, varying: bashZstd} {
			if got, want := fileCompression(t, merged), fileCompression(t, last); got != want {
				t.Errorf("%s: compression %v, want %v (its last image's)", filepath.Base(merged), got, want)
			}
		}
		out := filepath.Join(t.TempDir(), "merged.tar.zst")
		testutil.Run(t, "", nil, testutil.Exe(t), "merge-images", "--compression", "zstd", "--out", out, bash, redis)
		if got := fileCompression(t, out); got != compression.Zstd {
			t.Errorf("--compression zstd wrote %v", got)
		}
		testutil.Run(t, "", nil, "zstd", "-t", "-q", out)
		if m, _ := testutil.DockerArchive(t, out); !slices.Equal(testutil.RepoTags(m), want[bashRedis]) {
			t.Errorf("--compression zstd: RepoTags %q", testutil.RepoTags(m))
		}
	})

	t.Run("deterministic", func(t *testing.T) {
		drv := strings.TrimSpace(testutil.Run(t, "", testutil.NixEnv(), "nix-store", "--query", "--deriver", formats))
		testutil.Run(t, "", testutil.NixEnv(), "nix-store", "--realise", "--check", drv)
		// The command line gives the builder's bytes, twice.
		for i := 0; i < 2; i++ {
			out := filepath.Join(t.TempDir(), "merged.tar")
			testutil.Run(t, "", nil, testutil.Exe(t), "merge-images", "--out", out, bash, redis)
			a, _ := os.ReadFile(out)
			b, _ := os.ReadFile(bashRedis)
			if !bytes.Equal(a, b) {
				t.Errorf("merge-images of bash and redis (%d bytes) differs from mergeImages' (%d bytes)", len(a), len(b))
			}
		}
	})

	t.Run("skopeo reads every image", func(t *testing.T) {
		testutil.RequireTool(t, "skopeo")
		for _, tag := range want[formats] {
			testutil.Run(t, "", nil, "skopeo", "inspect", "docker-archive:"+formats+":"+tag)
			testutil.Run(t, "", nil, "skopeo", "copy", "--quiet", "docker-archive:"+formats+":"+tag, "oci:"+filepath.Join(t.TempDir(), "oci")+":x")
		}
	})

	t.Run("docker load gives every tag", func(t *testing.T) {
		if !testutil.DockerAvailable() {
			t.Skip("SKIP: no Docker engine answers `docker info`")
		}
		gz := filepath.Join(t.TempDir(), "merged.tar.gz")
		testutil.Run(t, "", nil, testutil.Exe(t), "merge-images", "--compression", "gzip", "--out", gz, bash, redis)
		want[gz] = want[bashRedis]
		for _, p := range []string{bashRedis, noTagRedis, fakeRoot, varying, formats, gz} {
			testutil.Run(t, "", nil, "docker", "load", "--input", p)
			for _, tag := range want[p] {
				t.Cleanup(func() { exec.Command("docker", "rmi", tag).Run() })
				testutil.Run(t, "", nil, "docker", "image", "inspect", tag)
			}
		}
		// The NixOS test's checks: bash runs, redis runs, an untagged
		// image is loaded under its generated tag, owners are kept.
		testutil.Run(t, "", nil, "docker", "run", "--rm", "merge-bash-"+id+":latest", "sh", "-c", "true")
		testutil.Run(t, "", nil, "docker", "run", "--rm", noTag, "sh", "-c", "true")
		if out := testutil.Run(t, "", nil, "docker", "run", "--rm", "merge-redis-"+id+":latest"); !strings.Contains(out, "Hello from nixlayer") {
			t.Errorf("redis stand-in printed %q", out)
		}
		if out := testutil.Run(t, "", nil, "docker", "run", "--rm", "merge-fakeroot-"+id+":latest", "stat", "-c", "%u", "/home/alice"); strings.TrimSpace(out) != "1000" {
			t.Errorf("/home/alice is owned by %q, want 1000", out)
		}
		if out := testutil.Run(t, "", nil, "docker", "run", "--rm", "merge-stream-"+id+":v1"); !bytes.Contains([]byte(out), []byte("Hello from nixlayer")) {
			t.Errorf("stream image printed %q", out)
		}
	})
}

// TestMergeImagesBadInput: the command and the Nix function refuse what
// they cannot merge, with a message that says what to give, and leave no
// output.
func TestMergeImagesBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "merged.tar")
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not an image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no image", []string{"merge-images", "--out", out}, "usage: nixlayer merge-images --out OUT IMAGE..."},
		{"no out", []string{"merge-images", junk}, "usage: nixlayer merge-images --out OUT IMAGE..."},
		{"not an image", []string{"merge-images", "--out", out, junk}, "merging image " + junk},
		{"bad compression", []string{"merge-images", "--out", out, "--compression", "bz2", junk}, `unknown compression "bz2"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := testutil.RunErr("", nil, testutil.Exe(t), tt.args...)
			if err == nil || !strings.Contains(errOut, tt.want) {
				t.Errorf("nixlayer %q: %v\n%s\nwant %q", tt.args, err, errOut, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("an output was left behind")
			}
		})
	}
	_, errOut, err := testutil.NixBuildErr(t, `nl.mergeImages (nl.buildImage { name = "x"; })`)
	if err == nil || !strings.Contains(errOut, "nixlayer.mergeImages: give a list of images") {
		t.Errorf("mergeImages of one image: %v\n%s", err, errOut)
	}
}

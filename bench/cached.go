package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The cached-layer benchmark: the benchmark closure as one nl.buildLayer,
// a one-path app above it. It times with nix-build, in the Nix sandbox, a
// cold build (the layer and the image), a rebuild after the app changed
// (the layer is not rebuilt), and a trivial derivation over the same
// closure (nl.closureInfo of the app and the layer: Nix's evaluation, its
// closure export and a builder start). The ratio is
// (rebuild - trivial) / cold, for a stream and for a docker-archive.

// cachedExpr is the Nix expression of the benchmark; salt makes a new
// layer derivation (a cold build), app a new app.
const cachedExpr = `{ repo, bin, closure, salt, app }:
let
  nl = import (repo + "/nix") { nixlayer = builtins.path { path = bin; name = "nixlayer"; }; };
  layer = nl.buildLayer { name = "bench-base-${salt}"; deps = [ (import closure { }) ]; };
  appPkg = derivation {
    name = "bench-app"; system = builtins.currentSystem; builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir $out && echo ${app} > $out/version" ];
  };
  image = fn: fn { name = "bench-app"; tag = "v"; contents = [ appPkg ]; layers = [ layer ]; };
in {
  inherit layer;
  stream = image nl.streamLayeredImage;
  archive = image nl.buildLayeredImage;
  trivial = nl.closureInfo { rootPaths = [ appPkg layer ]; };
}
`

// The limits of the issue for the cached-layer rebuilds.
const (
	limitCachedStream  = 0.10
	limitCachedArchive = 0.30
)

// cachedBench holds what the cached-layer cases share.
type cachedBench struct {
	*bench
	expr    string // the expression file
	repo    string
	closure string // closure.nix
	made    []string
}

// cached times the cached-layer cases and the push of a new version;
// closureNix is the benchmark closure's expression.
func (b *bench) cached(closureNix string) ([]row, error) {
	repo, err := os.Getwd() // bench/run.sh runs in the repository
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(repo, "nix", "layer.nix")); err != nil {
		return nil, fmt.Errorf("the cached-layer cases run in the nixlayer repository: %w", err)
	}
	c := &cachedBench{bench: b, expr: filepath.Join(b.opts.work, "cached.nix"), repo: repo, closure: closureNix}
	if err := os.WriteFile(c.expr, []byte(cachedExpr), 0o644); err != nil {
		return nil, err
	}
	defer c.clean()
	var rows []row
	for _, k := range []struct {
		attr, name string
		limit      float64
	}{{"stream", "stream, app change over a cached layer", limitCachedStream}, {"archive", "docker-archive, app change over a cached layer", limitCachedArchive}} {
		r, err := c.rebuild(k.attr, k.name, k.limit)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	push, err := c.push()
	if err != nil {
		return nil, err
	}
	return append(rows, push), nil
}

// rebuild times the cold build of attr (once: it makes a large layer) and
// its rebuild after an app change against the trivial derivation, best of
// the runs, taking turns so that a busy machine slows both.
func (c *cachedBench) rebuild(attr, name string, limit float64) (row, error) {
	salt := fmt.Sprintf("%s-%d", attr, time.Now().UnixNano())
	cold, err := c.build(attr, salt, "v0")
	if err != nil {
		return row{}, err
	}
	layer, err := c.nixBuild("layer", salt, "v0")
	if err != nil {
		return row{}, err
	}
	c.made = append(c.made, layer)
	best := make([]float64, 2) // rebuild, trivial
	for i := range c.opts.runs {
		for j, a := range []string{attr, "trivial"} {
			t, err := c.build(a, salt, fmt.Sprintf("v%d-%d", i+1, j))
			if err != nil {
				return row{}, err
			}
			if i == 0 || t < best[j] {
				best[j] = t
			}
		}
	}
	warm, trivial := best[0], best[1]
	r := row{name: name, secs: warm - trivial, base: cold, baseName: "cold build", limit: limit,
		note: fmt.Sprintf("rebuild %.2f s, trivial derivation %.2f s", warm, trivial)}
	r.ratio = r.secs / r.base
	return r, nil
}

// build runs nix-build of attr and returns its wall time in seconds.
func (c *cachedBench) build(attr, salt, app string) (float64, error) {
	start := time.Now()
	out, err := c.nixBuild(attr, salt, app)
	if err != nil {
		return 0, err
	}
	c.made = append(c.made, out)
	return time.Since(start).Seconds(), nil
}

func (c *cachedBench) nixBuild(attr, salt, app string) (string, error) {
	cmd := exec.CommandContext(c.ctx, "nix-build", c.expr, "-A", attr, "--no-out-link",
		"--arg", "repo", c.repo, "--arg", "bin", filepath.Dir(filepath.Dir(c.opts.nixlayer)),
		"--arg", "closure", c.closure, "--argstr", "salt", salt, "--argstr", "app", app)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("nix-build -A %s (salt %s, app %s): %w\n%s", attr, salt, app, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// clean deletes what the benchmark made from the store (the layers are
// large), as far as nothing else uses it.
func (c *cachedBench) clean() {
	if len(c.made) == 0 {
		return
	}
	_ = exec.Command("nix-store", append([]string{"--delete", "--ignore-liveness"}, c.made...)...).Run()
}

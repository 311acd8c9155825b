package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/nixlayer/nixlayer/setreport"
)

// The image-set benchmark: eight images over overlapping parts of a
// closure (bench/imageset.nix), layered one by one with popularity and
// auto, and as one set, at maxLayers 100 and 10. For each it reports the
// bytes of the unique blobs (what a registry stores) against the floor
// (every store path's tar once), the bytes a node holding image A pulls to
// run image B summed over every pair against the floor (the tar of B's
// paths A lacks), and the bytes pushed after a one-package update (blobs
// of the updated images not among the old ones) against the floor (the tar
// of the paths the update changed). Images are uncompressed streams, so
// blob bytes are tar bytes.

// setCase is one strategy and budget.
type setCase struct {
	strategy  string
	maxLayers int
}

// setFloors are the floors of the set, from the apps' closures.
type setFloors struct {
	closures map[string]map[string]bool // image -> its store paths
	size     map[string]int64           // store path -> its tar bytes
}

func (f *setFloors) union() map[string]bool {
	u := map[string]bool{}
	for _, c := range f.closures {
		for p := range c {
			u[p] = true
		}
	}
	return u
}

func (f *setFloors) sum(paths map[string]bool, except map[string]bool) int64 {
	var n int64
	for p := range paths {
		if !except[p] {
			n += f.size[p]
		}
	}
	return n
}

// imageSetBench runs every case and prints the table.
func imageSetBench(ctx context.Context, nixlayer, expr string, w io.Writer) error {
	repo, err := filepath.Abs(".")
	if err != nil {
		return err
	}
	bin := filepath.Dir(filepath.Dir(nixlayer))
	floors, err := setFloorsOf(ctx, repo, bin, expr, "1")
	if err != nil {
		return err
	}
	updated, err := setFloorsOf(ctx, repo, bin, expr, "2")
	if err != nil {
		return err
	}
	u := floors.union()
	fmt.Fprintf(w, "\nImage set: %d images, %d store paths, floor %d bytes (every path's tar once)\n", len(floors.closures), len(u), floors.sum(u, nil))
	fmt.Fprintln(w, "| strategy | maxLayers | unique bytes / floor | pull bytes / floor (all pairs) | worst pair | pushed after update / floor | layers per image |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, c := range []setCase{{"popularity", 100}, {"auto", 100}, {"set", 100}, {"popularity", 10}, {"auto", 10}, {"set", 10}} {
		line, err := setRow(ctx, repo, bin, expr, c, floors, updated)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

func setRow(ctx context.Context, repo, bin, expr string, c setCase, floors, updated *setFloors) (string, error) {
	old, err := setReport(ctx, repo, bin, expr, c, "1")
	if err != nil {
		return "", err
	}
	next, err := setReport(ctx, repo, bin, expr, c, "2")
	if err != nil {
		return "", err
	}
	u := floors.union()
	floor := floors.sum(u, nil)
	var pull, pullFloor int64
	worst, worstPair := 0.0, ""
	for _, a := range old.Names {
		for _, b := range old.Names {
			if a == b {
				continue
			}
			got, want := old.PullBytes(a, b), floors.sum(floors.closures[b], floors.closures[a])
			pull += got
			pullFloor += want
			if want > 0 && float64(got)/float64(want) > worst {
				worst, worstPair = float64(got)/float64(want), a+"→"+b
			}
		}
	}
	pushed := next.NewBytes(old)
	pushFloor := updated.sum(updated.union(), u)
	var counts []string
	for _, n := range old.Names {
		counts = append(counts, fmt.Sprint(len(old.Layers[n])))
	}
	return fmt.Sprintf("| %s | %d | %d / %d = %.3f | %d / %d = %.3f | %.2f (%s) | %d / %d = %.1f | %s |",
		c.strategy, c.maxLayers, old.UniqueBytes(), floor, float64(old.UniqueBytes())/float64(floor),
		pull, pullFloor, float64(pull)/float64(pullFloor), worst, worstPair,
		pushed, pushFloor, float64(pushed)/float64(max(pushFloor, 1)), strings.Join(counts, " ")), nil
}

// setReport builds the images of a case and describes them.
func setReport(ctx context.Context, repo, bin, expr string, c setCase, version string) (*setreport.Report, error) {
	out, err := setNixBuild(ctx, repo, bin, expr, "images", c.strategy, c.maxLayers, version)
	if err != nil {
		return nil, err
	}
	var images []setreport.Image
	for k, p := range out {
		images = append(images, setreport.Image{Name: fmt.Sprintf("img-%d", k), Path: p})
	}
	return setreport.Describe(ctx, images)
}

// setFloorsOf builds the apps of a version and measures their closures.
func setFloorsOf(ctx context.Context, repo, bin, expr, version string) (*setFloors, error) {
	apps, err := setNixBuild(ctx, repo, bin, expr, "apps", "set", 100, version)
	if err != nil {
		return nil, err
	}
	f := &setFloors{closures: map[string]map[string]bool{}, size: map[string]int64{}}
	for k, app := range apps {
		out, err := exec.CommandContext(ctx, "nix-store", "--query", "--requisites", app).Output()
		if err != nil {
			return nil, fmt.Errorf("querying the closure of %s: %w", app, err)
		}
		c := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			c[p] = true
			if _, ok := f.size[p]; !ok {
				if f.size[p], err = tarBytes(p); err != nil {
					return nil, err
				}
			}
		}
		f.closures[fmt.Sprintf("img-%d", k)] = c
	}
	return f, nil
}

// tarBytes is the size of a store path in a tar: a 512-byte header per
// entry and each regular file's bytes rounded up to 512.
func tarBytes(root string) (int64, error) {
	var n int64
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n += 512
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += (fi.Size() + 511) / 512 * 512
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measuring %s: %w", root, err)
	}
	return n, nil
}

func setNixBuild(ctx context.Context, repo, bin, expr, attr, strategy string, maxLayers int, version string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "nix-build", expr, "-A", attr, "--no-out-link",
		"--arg", "repo", repo, "--arg", "bin", bin, "--argstr", "strategy", strategy,
		"--arg", "maxLayers", fmt.Sprint(maxLayers), "--argstr", "version", version)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("nix-build -A %s (%s, maxLayers %d, version %s): %w\n%s", attr, strategy, maxLayers, version, err, stderr.String())
	}
	return strings.Fields(string(out)), nil
}

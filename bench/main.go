// Command bench times nixlayer over a benchmark closure and prints, for
// each case, the ratio to a baseline measured in the same run on the same
// bytes: Go's crypto/sha256 over the closure's file bytes (the physical
// floor), pigz and zstd over the uncompressed image tar. It also reports
// each run's peak RSS, and compares it with the same run over a closure
// several times larger. bench/run.sh builds the closures and calls it.
//
//	go run ./bench -nixlayer build/nixlayer/bin/nixlayer -closure /nix/store/...-bench-top \
//	    [-large /nix/store/...-bench-top-x4] [-runs 3] [-work DIR]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signalContext()
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	nixlayer string // the nixlayer binary
	closure  string // top store path of the benchmark closure
	large    string // top store path of a larger closure (RSS scaling), or ""
	runs     int    // each timing is the best of runs
	work     string // scratch directory for outputs
	// closureNix, when set, is the closure's expression: the cached-layer
	// cases build over it with nix-build (cached.go).
	closureNix string
	// imageSet, when set, is bench/imageset.nix: the image-set cases
	// (imageset.go); setOnly runs only them.
	imageSet string
	setOnly  bool
}

func parseFlags(args []string) (*options, error) {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	o := &options{}
	fl.StringVar(&o.nixlayer, "nixlayer", "build/nixlayer/bin/nixlayer", "nixlayer binary to time")
	fl.StringVar(&o.closure, "closure", "", "top store path of the benchmark closure (required)")
	fl.StringVar(&o.large, "large", "", "top store path of a larger closure, for the RSS scaling check")
	fl.IntVar(&o.runs, "runs", 3, "runs per timing; the fastest counts")
	fl.StringVar(&o.work, "work", "", "scratch directory (default: a temporary one, removed at the end)")
	fl.StringVar(&o.closureNix, "closure-nix", "", "the closure's Nix expression, for the cached-layer cases (nix-build); empty skips them")
	fl.StringVar(&o.imageSet, "imageset", "", "bench/imageset.nix, for the image-set cases; empty skips them")
	fl.BoolVar(&o.setOnly, "set-only", false, "run only the image-set cases")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if o.setOnly && o.imageSet != "" {
		return o, nil
	}
	if o.closure == "" {
		return nil, errors.New("-closure is required")
	}
	if o.runs < 1 {
		return nil, fmt.Errorf("-runs %d: at least 1", o.runs)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "nixlayer-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(o.work)
	}
	if o.setOnly {
		return imageSetBench(ctx, o.nixlayer, o.imageSet, stdout)
	}
	b := &bench{opts: o, ctx: ctx}
	small, err := b.closureCase("closure", o.closure)
	if err != nil {
		return err
	}
	rows, err := b.timeAll(small, true)
	if err != nil {
		return err
	}
	if o.closureNix != "" {
		crows, err := b.cached(o.closureNix)
		if err != nil {
			return err
		}
		rows = append(rows, crows...)
	}
	if o.large != "" {
		large, err := b.closureCase("large", o.large)
		if err != nil {
			return err
		}
		b.opts.runs = 1
		lrows, err := b.timeAll(large, false)
		if err != nil {
			return err
		}
		rows = append(rows, scaling(rows, lrows, large.bytes/small.bytes)...)
	}
	if err := report(stdout, small, rows); err != nil {
		return err
	}
	if o.imageSet != "" {
		return imageSetBench(ctx, o.nixlayer, o.imageSet, stdout)
	}
	return nil
}

// bench holds the state of one benchmark run.
type bench struct {
	opts *options
	ctx  context.Context
}

// closure is one benchmark input: its registration file and size.
type closure struct {
	label   string
	top     string
	paths   []string
	regFile string // closureInfo registration, as nix-store --dump-db writes it
	bytes   float64
	files   int
}

// closureCase queries Nix for the closure of top and writes its
// registration file.
func (b *bench) closureCase(label, top string) (*closure, error) {
	out, err := exec.CommandContext(b.ctx, "nix-store", "--query", "--requisites", top).Output()
	if err != nil {
		return nil, fmt.Errorf("querying the closure of %s: %w", top, err)
	}
	c := &closure{label: label, top: top, paths: strings.Fields(string(out))}
	sort.Strings(c.paths)
	reg, err := exec.CommandContext(b.ctx, "nix-store", append([]string{"--dump-db"}, c.paths...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("dumping the registration of %s: %w", top, err)
	}
	c.regFile = filepath.Join(b.opts.work, label+".reg")
	if err := os.WriteFile(c.regFile, reg, 0o644); err != nil {
		return nil, err
	}
	for _, p := range c.paths {
		err := filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			c.bytes += float64(fi.Size())
			c.files++
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("sizing %s: %w", p, err)
		}
	}
	return c, nil
}

// row is one line of the report.
type row struct {
	name     string
	secs     float64 // nixlayer's time
	baseName string
	base     float64 // the baseline's time
	limit    float64 // the ratio allowed
	rssMiB   float64
	ratio    float64 // secs/base, or an RSS ratio for scaling rows
	note     string
}

func (r row) ok() bool { return r.ratio <= r.limit }

// The limits of the issue.
const (
	limitUncompressed = 2.0
	limitGzip         = 1.0
	limitZstd         = 1.3
	limitStream       = 1.5
	limitRSSMiB       = 100
	limitRSSGrowth    = 1.2
)

// timeAll runs every case over c and, when baselines is set, their
// baselines.
func (b *bench) timeAll(c *closure, baselines bool) ([]row, error) {
	dir := filepath.Join(b.opts.work, c.label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// Warm the page cache, so that every timing reads from memory.
	if _, err := hashFiles(c.paths); err != nil {
		return nil, err
	}
	floor := func() error { _, err := hashFiles(c.paths); return err }
	plain := filepath.Join(dir, "none.tar")
	script := filepath.Join(dir, "stream")
	cases := []struct {
		name, format, compression, out string
		stream                         bool
		limit                          float64
		baseName                       string
		baseline                       []string // a command reading the uncompressed tar on stdin
	}{
		{name: "docker-archive, uncompressed", format: "docker-archive", compression: "none", out: plain,
			limit: limitUncompressed, baseName: "sha256 of file bytes"},
		{name: "docker-archive, gzip", format: "docker-archive", compression: "gzip", out: filepath.Join(dir, "gzip.tar"),
			limit: limitGzip, baseName: fmt.Sprintf("pigz -p%d -6", runtime.NumCPU()),
			baseline: []string{"pigz", "-p" + strconv.Itoa(runtime.NumCPU()), "-6", "-c"}},
		{name: "oci-layout, zstd", format: "oci-layout", compression: "zstd", out: filepath.Join(dir, "zstd.oci"),
			limit: limitZstd, baseName: "zstd -3 -T0", baseline: []string{"zstd", "-3", "-T0", "-c", "-q"}},
		{name: "stream script (build)", format: "docker-archive", compression: "none", out: script, stream: true},
	}
	var rows []row
	for _, cs := range cases {
		spec := filepath.Join(dir, "spec.json")
		if err := writeSpec(spec, cs.format, cs.compression, cs.stream); err != nil {
			return nil, err
		}
		var rss float64
		fns := []func() error{func() error {
			os.RemoveAll(cs.out)
			r, err := b.measure(nil, b.opts.nixlayer, "build-image", "--spec", spec, "--closure", c.regFile, "--out", cs.out)
			rss = max(rss, r)
			return err
		}}
		switch {
		case !baselines || cs.stream:
		case cs.baseline == nil:
			fns = append(fns, floor)
		default:
			fns = append(fns, func() error { _, err := b.measure(&plain, cs.baseline[0], cs.baseline[1:]...); return err })
		}
		secs, err := b.best(fns...)
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", cs.name, err)
		}
		r := row{name: cs.name, secs: secs[0], rssMiB: rss, limit: cs.limit, baseName: cs.baseName}
		if len(secs) > 1 {
			r.base = secs[1]
		}
		if cs.stream {
			fi, err := os.Stat(cs.out)
			if err != nil {
				return nil, err
			}
			r.note = fmt.Sprintf("script is %d KiB", fi.Size()>>10)
		}
		rows = append(rows, r)
	}
	var rss float64
	fns := []func() error{func() error {
		r, err := b.measure(nil, b.opts.nixlayer, "stream", script)
		rss = max(rss, r)
		return err
	}}
	if baselines {
		fns = append(fns, floor)
	}
	secs, err := b.best(fns...)
	if err != nil {
		return nil, fmt.Errorf("streaming %s: %w", script, err)
	}
	r := row{name: "stream to /dev/null", secs: secs[0], baseName: "sha256 of file bytes", limit: limitStream, rssMiB: rss}
	if len(secs) > 1 {
		r.base = secs[1]
	}
	rows = append(rows, r)
	for i := range rows {
		if rows[i].base > 0 {
			rows[i].ratio = rows[i].secs / rows[i].base
		}
	}
	return rows, nil
}

// scaling compares the peak RSS of each case over the larger closure with
// the same case over the benchmark closure.
func scaling(small, large []row, factor float64) []row {
	var out []row
	for i, l := range large {
		s := small[i]
		out = append(out, row{
			name: fmt.Sprintf("%s, %.1fx closure", l.name, factor), secs: l.secs, rssMiB: l.rssMiB,
			ratio: l.rssMiB / s.rssMiB, limit: limitRSSGrowth, baseName: "RSS vs 1x",
		})
	}
	return out
}

// writeSpec writes the build-image spec of one case: every store path of
// the closure in its own layer (popularity), no contents at the root.
func writeSpec(path, format, compression string, stream bool) error {
	tag := "bench"
	spec := map[string]any{
		"name": "nixlayer-bench", "tag": tag, "layering": "popularity", "maxLayers": 100,
		"format": format, "compression": compression, "stream": stream,
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// signalContext is cancelled on an interrupt, so that a run stops its
// child processes.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"text/tabwriter"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/compression"
)

// WriteJSON writes the report as indented JSON, for scripts.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for people: a header, one row per layer
// with its store paths by name, and the config.
func (r *Report) WriteTable(w io.Writer) error {
	ref := r.Ref
	if ref == "" {
		ref = "(no reference)"
	}
	var total int64
	for _, l := range r.Layers {
		total += l.Size
	}
	fmt.Fprintf(w, "%s: %s, %s (archive compression %s)\n", r.Source, ref, r.Format, r.Compression)
	noun := "layers"
	if len(r.Layers) == 1 {
		noun = "layer"
	}
	r.writeIndex(w)
	fmt.Fprintf(w, "config %s, %d %s, %s\n\n", r.Digest, len(r.Layers), noun, humanSize(total))
	if err := r.writeImages(w); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tDIGEST\tSIZE\tTYPE\tSTORE PATHS")
	for i, l := range r.Layers {
		names := make([]string, len(l.StorePaths))
		for j, p := range l.StorePaths {
			names[j] = path.Base(p)
		}
		if len(names) == 0 {
			names = []string{"-"}
			if l.Comment != "" {
				names[0] = "(" + l.Comment + ")"
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, shortDigest(l.Digest), humanSize(l.Size), shortType(l.MediaType), names[0])
		for _, n := range names[1:] {
			fmt.Fprintf(tw, "\t\t\t\t%s\n", n)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var cfg bytes.Buffer
	if err := json.Indent(&cfg, r.Config, "", "  "); err != nil {
		cfg.Reset()
		cfg.Write(r.Config)
	}
	_, err := fmt.Fprintf(w, "\nconfig:\n%s\n", cfg.String())
	return err
}

// shortDigest keeps the algorithm and 12 hex digits, as docker does.
func shortDigest(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}

// shortType names a layer media type by its compression: tar, tar+gzip
// or tar+zstd; another media type is printed as it is.
func shortType(mt string) string {
	c, ok := compression.FromMediaType(types.MediaType(mt))
	switch {
	case !ok:
		return mt
	case c == compression.None:
		return "tar"
	}
	return "tar+" + string(c)
}

// humanSize prints a byte count in binary units.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// writeImages lists the images of an archive that holds several.
func (r *Report) writeImages(w io.Writer) error {
	if len(r.Images) == 0 {
		return nil
	}
	fmt.Fprintf(w, "the archive holds %d images:\n", len(r.Images))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tREF\tCONFIG\tPLATFORM\tLAYERS\tSIZE")
	for i, s := range r.Images {
		ref := s.Ref
		if ref == "" {
			ref = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", i+1, ref, shortDigest(s.Digest), s.Platform, s.Layers, humanSize(s.Size))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

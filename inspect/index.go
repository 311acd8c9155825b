package inspect

import (
	"fmt"
	"io"
)

// writeIndex lists the entries of a multi-platform index, one line each.
func (r *Report) writeIndex(w io.Writer) {
	if len(r.Index) == 0 {
		return
	}
	fmt.Fprintf(w, "index of %d images (the one for this machine follows):\n", len(r.Index))
	for _, d := range r.Index {
		p := "(no platform)"
		if d.Platform != nil {
			p = d.Platform.OS + "/" + d.Platform.Architecture
			if d.Platform.Variant != "" {
				p += "/" + d.Platform.Variant
			}
		}
		fmt.Fprintf(w, "  %-16s %s %s\n", p, d.Digest, humanSize(d.Size))
	}
}

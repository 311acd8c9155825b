package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/nixattrs"
	"github.com/nixlayer/nixlayer/setreport"
)

func setReportCommand() *cli.Command {
	return &cli.Command{
		Name:      "set-report",
		Usage:     "describe a set of images: unique blob bytes, layers per image, layers each pair shares",
		ArgsUsage: "NAME=IMAGE...",
		Description: `Each IMAGE is a docker-archive, an OCI layout or archive, or a stream
script (read by its recipe; nothing is produced). Run by Nix (the imageSet.report
passthru of nl.buildImageSet), the images come from the "nixlayer" attribute of
the structured attrs and the report is written to $out.`,
		Action: func(c *cli.Context) error {
			images, out, err := setReportRequest(c)
			if err != nil {
				return err
			}
			r, err := setreport.Describe(c.Context, images)
			if err != nil {
				return err
			}
			if out == "" {
				return r.Write(c.App.Writer)
			}
			return atomicfile.File(out, func(f *os.File) error { return r.Write(f) })
		},
	}
}

// setReportRequest reads the images (and $out) from structured attrs when
// run by Nix, else from NAME=IMAGE arguments.
func setReportRequest(c *cli.Context) ([]setreport.Image, string, error) {
	attrs, err := nixattrs.Load()
	switch {
	case err == nil:
		var m struct {
			Images []setreport.Image `json:"images"`
		}
		if err := attrs.Decode("nixlayer", &m); err != nil {
			return nil, "", err
		}
		out, err := attrs.Out()
		return m.Images, out, err
	case !errors.Is(err, nixattrs.ErrNotBuilder):
		return nil, "", err
	}
	var images []setreport.Image
	for _, a := range c.Args().Slice() {
		n, p, ok := strings.Cut(a, "=")
		if !ok || n == "" || p == "" {
			return nil, "", fmt.Errorf("set-report: argument %q is not NAME=IMAGE", a)
		}
		images = append(images, setreport.Image{Name: n, Path: p})
	}
	return images, "", nil
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/index"
	"github.com/nixlayer/nixlayer/nixattrs"
)

func buildIndexCommand() *cli.Command {
	return &cli.Command{
		Name:      "build-index",
		Usage:     "join single-platform images into one multi-platform OCI index (buildImageIndex)",
		ArgsUsage: "[IMAGE...]",
		Description: `Run by Nix with structured attrs, the arguments come from the "nixlayer"
attribute (see nix/index.nix) and the index is written to $out. Outside Nix,
give the images (OCI layouts, oci-archives, docker-archives or stream
scripts, one per platform), --name and --out.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "where to write the index"},
			&cli.StringFlag{Name: "name", Usage: "the index's name"},
			&cli.StringFlag{Name: "tag", Value: "latest", Usage: "the index's tag (its ref.name in index.json)"},
			&cli.StringFlag{Name: "format", Value: "oci-layout", Usage: "oci-layout or oci-archive"},
			&cli.StringFlag{Name: "annotations", Usage: "the index's own OCI annotations, a JSON object of strings (buildImageIndex's annotations)"},
		},
		Action: func(c *cli.Context) error {
			spec, out, tag, err := indexSpec(c)
			if err != nil {
				return err
			}
			set, err := spec.Resolve(tag, os.Getenv("SOURCE_DATE_EPOCH"))
			if err != nil {
				return err
			}
			return index.Build(c.Context, index.Request{Settings: set, Out: out, TempDir: os.TempDir()})
		},
	}
}

// indexSpec reads the spec from the structured attrs, or from the flags
// when not run by Nix; it returns the output and the default tag.
func indexSpec(c *cli.Context) (*index.Spec, string, string, error) {
	attrs, err := nixattrs.Load()
	switch {
	case err == nil:
		spec, err := index.ParseSpec(attrs.Raw("nixlayer"), attrs.File)
		if err != nil {
			return nil, "", "", err
		}
		out, err := attrs.Out()
		return spec, out, outputHash(out), err
	case !errors.Is(err, nixattrs.ErrNotBuilder):
		return nil, "", "", err
	}
	if c.String("out") == "" {
		return nil, "", "", errors.New("outside a Nix build, --out is required")
	}
	out, err := filepath.Abs(c.String("out"))
	if err != nil {
		return nil, "", "", err
	}
	spec := &index.Spec{Name: c.String("name"), Tag: c.String("tag"), Format: c.String("format"), Images: c.Args().Slice()}
	if a := c.String("annotations"); a != "" {
		if err := json.Unmarshal([]byte(a), &spec.Annotations); err != nil {
			return nil, "", "", fmt.Errorf("flag --annotations %q: a JSON object of strings: %w", a, err)
		}
	}
	return spec, out, "latest", nil
}

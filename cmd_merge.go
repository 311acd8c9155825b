package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/merge"
	"github.com/nixlayer/nixlayer/nixattrs"
)

// mergeAttrs is the "nixlayer" attribute nix/merge.nix gives the builder.
type mergeAttrs struct {
	Images []struct {
		Path string `json:"path"`
		Name string `json:"name"`
		Tag  string `json:"tag"`
	} `json:"images"`
	Compression string `json:"compression"`
}

func mergeImagesCommand() *cli.Command {
	return &cli.Command{
		Name:      "merge-images",
		Usage:     "write one docker-archive holding every image of the given images (mergeImages)",
		ArgsUsage: "IMAGE...",
		Description: `Each IMAGE is a docker-archive (plain, gzip or zstd), an oci-archive, an OCI
layout directory or a stream script; every image it holds goes into OUT, in
order, and a blob several images share is stored once. docker load of OUT
loads every image under its name and tag. Run by Nix (nix/merge.nix), the
images come from the "nixlayer" attribute of the structured attrs.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "the docker-archive to write"},
			&cli.StringFlag{Name: "compression", Value: merge.LikeLast, Usage: "of the archive file: gzip, zstd, none, or last (as the last IMAGE, as dockerTools)"},
			&cli.Int64Flag{Name: "mtime", EnvVars: []string{"SOURCE_DATE_EPOCH"}, Value: 1, Usage: "mtime of every archive entry, in seconds since the epoch"},
		},
		Action: func(c *cli.Context) error {
			out, inputs, comp, err := mergeRequest(c)
			if err != nil {
				return err
			}
			return merge.Images(c.Context, out, inputs, merge.Options{
				Compression: comp, MTime: time.Unix(c.Int64("mtime"), 0).UTC(), TempDir: os.TempDir(),
			})
		},
	}
}

// mergeRequest reads the output, inputs and compression from structured
// attrs when run by Nix, else from the arguments and flags.
func mergeRequest(c *cli.Context) (string, []merge.Input, string, error) {
	attrs, err := nixattrs.Load()
	switch {
	case err == nil:
		var m mergeAttrs
		if err := attrs.Decode("nixlayer", &m); err != nil {
			return "", nil, "", err
		}
		out, err := attrs.Out()
		if err != nil {
			return "", nil, "", err
		}
		var inputs []merge.Input
		for _, i := range m.Images {
			inputs = append(inputs, merge.Input{Path: i.Path, Name: i.Name, Tag: i.Tag})
		}
		return out, inputs, m.Compression, nil
	case !errors.Is(err, nixattrs.ErrNotBuilder):
		return "", nil, "", err
	}
	if c.String("out") == "" || c.NArg() == 0 {
		return "", nil, "", fmt.Errorf("usage: nixlayer merge-images --out OUT IMAGE... (got %d images, out %q)", c.NArg(), c.String("out"))
	}
	out, err := filepath.Abs(c.String("out"))
	if err != nil {
		return "", nil, "", err
	}
	var inputs []merge.Input
	for _, p := range c.Args().Slice() {
		inputs = append(inputs, merge.Input{Path: p})
	}
	return out, inputs, c.String("compression"), nil
}

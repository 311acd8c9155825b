package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/image/base"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write the flattened root filesystem of an image as a tar (exportImage; no VM, no root)",
		ArgsUsage: "IMAGE",
		Description: `IMAGE is a docker-archive (registry or legacy format), an oci-archive or an
OCI layout directory, plain or gzip/zstd/xz-compressed. The layers are applied
in order with whiteouts, and written as one deterministic tar: sorted, every
mtime set to --mtime (or $SOURCE_DATE_EPOCH), hard links as regular files,
device nodes and FIFOs left out. The output is written atomically.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "the rootfs tar to write"},
			&cli.StringFlag{Name: "name", Usage: "pick the image with this name from an archive holding several"},
			&cli.StringFlag{Name: "tag", Usage: "pick the image with this tag from an archive holding several"},
			&cli.IntFlag{Name: "layer", Usage: "write only layer `N` of the image, uncompressed (1 the bottom one, -1 the top one; buildImage's layer passthru)"},
			&cli.Int64Flag{Name: "mtime", EnvVars: []string{"SOURCE_DATE_EPOCH"}, Value: 1, Usage: "mtime of every entry, in seconds since the epoch"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			if n := c.Int("layer"); n != 0 {
				return base.ExportLayer(c.Args().First(), c.String("out"), n,
					base.WithName(c.String("name")), base.WithTag(c.String("tag")), base.WithContext(c.Context))
			}
			return base.Export(c.Args().First(), c.String("out"), time.Unix(c.Int64("mtime"), 0).UTC(),
				base.WithName(c.String("name")), base.WithTag(c.String("tag")), base.WithContext(c.Context))
		},
	}
}

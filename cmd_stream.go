package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nixlayer/nixlayer/compression"
	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/stream"
	"github.com/urfave/cli/v2"
)

func streamCommand() *cli.Command {
	return &cli.Command{
		Name:      "stream",
		Usage:     "write the image of a stream script (streamLayeredImage) as a docker-archive",
		ArgsUsage: "SCRIPT",
		Description: `A stream script runs this command through its #! line, so
  $(nix-build -A image) | docker load
  $(nix-build -A image) -t app:dev | docker load
work (the script's own flags follow its path; main moves them before it).
With -o the archive goes to a file, written atomically. --compressor
compresses the whole archive (writeImageStream's compressor: gz, zstd or
none), as docker load reads it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file instead of stdout"},
			// dockerTools' stream scripts take --repo_tag / -t.
			&cli.StringFlag{Name: "repo_tag", Aliases: []string{"t"}, Usage: "load the image as NAME:TAG instead of the reference it was built with"},
			&cli.StringFlag{Name: "compressor", Value: "none", Usage: "compress the whole archive: gz, zstd or none"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("usage: nixlayer stream SCRIPT [-o FILE] [-t NAME:TAG] [--compressor gz|zstd|none]")
			}
			comp, err := archiveCompressor(c.String("compressor"))
			if err != nil {
				return err
			}
			script, out, tag := c.Args().First(), c.String("output"), c.String("repo_tag")
			if comp == compression.None {
				return stream.StreamScript(c.Context, script, out, tag, c.App.Writer)
			}
			if out == "" {
				return streamCompressed(c.Context, script, tag, comp, c.App.Writer)
			}
			return atomicfile.File(out, func(f *os.File) error { return streamCompressed(c.Context, script, tag, comp, f) })
		},
	}
}

// archiveCompressor reads a compressor name as writeImageStream takes it
// (dockerTools' "gz", "zstd", "none"; "gzip" too).
func archiveCompressor(name string) (compression.Compression, error) {
	switch name {
	case "gz", "gzip":
		return compression.Gzip, nil
	case "zstd":
		return compression.Zstd, nil
	case "none", "":
		return compression.None, nil
	}
	return "", fmt.Errorf("--compressor %q: use gz, zstd or none", name)
}

// streamCompressed writes the image of script to w through comp.
func streamCompressed(ctx context.Context, script, tag string, comp compression.Compression, w io.Writer) error {
	cw, err := comp.NewWriter(w)
	if err != nil {
		return fmt.Errorf("compressing the archive of %s: %w", script, err)
	}
	if err := stream.StreamScript(ctx, script, "", tag, cw); err != nil {
		cw.Close()
		return err
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("compressing the archive of %s: %w", script, err)
	}
	return nil
}

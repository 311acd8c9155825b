package main

import (
	"errors"

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
With -o the archive goes to a file, written atomically.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file instead of stdout"},
			// dockerTools' stream scripts take --repo_tag / -t.
			&cli.StringFlag{Name: "repo_tag", Aliases: []string{"t"}, Usage: "load the image as NAME:TAG instead of the reference it was built with"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("usage: nixlayer stream SCRIPT [-o FILE] [-t NAME:TAG]")
			}
			return stream.StreamScript(c.Context, c.Args().First(), c.String("output"), c.String("repo_tag"), c.App.Writer)
		},
	}
}

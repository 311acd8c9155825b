package main

import (
	"errors"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/image"
)

func streamCommand() *cli.Command {
	return &cli.Command{
		Name:      "stream",
		Usage:     "write the image of a stream script (streamLayeredImage) as a docker-archive",
		ArgsUsage: "SCRIPT",
		Description: `A stream script runs this command through its #! line, so
  $(nix-build -A image) | docker load
works. With -o the archive goes to a file, written atomically.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file instead of stdout"},
		},
		Action: func(c *cli.Context) error {
			// Run through #!, the script's own arguments follow its path,
			// where urfave/cli no longer parses flags.
			args, out := c.Args().Slice(), c.String("output")
			switch {
			case len(args) == 3 && (args[1] == "-o" || args[1] == "--output"):
				out = args[2]
			case len(args) == 2 && strings.HasPrefix(args[1], "--output="):
				out = strings.TrimPrefix(args[1], "--output=")
			case len(args) != 1:
				return errors.New("usage: nixlayer stream SCRIPT [-o FILE]")
			}
			return image.StreamScript(c.Context, args[0], out, c.App.Writer)
		},
	}
}

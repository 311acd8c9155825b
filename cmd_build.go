package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func buildImageCommand() *cli.Command {
	return &cli.Command{
		Name:  "build-image",
		Usage: "build an image from a closure (as a Nix builder, or with flags)",
		Action: func(c *cli.Context) error {
			return errors.New("not implemented yet")
		},
	}
}

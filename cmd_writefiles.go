package main

import (
	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/internal/filetree"
	"github.com/nixlayer/nixlayer/nixattrs"
)

func writeFilesCommand() *cli.Command {
	return &cli.Command{
		Name:   "write-files",
		Usage:  "write $out as the tree of files, symlinks and directories in the \"nixlayer\" attribute (the builder of fakeNss, binSh and the other small helpers)",
		Hidden: true,
		Action: func(c *cli.Context) error {
			attrs, err := nixattrs.Load()
			if err != nil {
				return err
			}
			var t filetree.Tree
			if err := attrs.Decode("nixlayer", &t); err != nil {
				return err
			}
			out, err := attrs.Out()
			if err != nil {
				return err
			}
			return filetree.Write(out, t)
		},
	}
}

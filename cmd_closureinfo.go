package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/nixattrs"
	"github.com/nixlayer/nixlayer/nixdb"
	"github.com/nixlayer/nixlayer/registration"
)

func closureInfoCommand() *cli.Command {
	return &cli.Command{
		Name:  "closure-info",
		Usage: "write registration, store-paths and total-nar-size of a closure, like nixpkgs' closureInfo (as a Nix builder, or with flags)",
		Description: `Run by Nix with structured attrs (nix/closure-info.nix), the closure comes
from the "closure" attribute (exportReferencesGraph.closure) and the files are
written to $out. Outside Nix, give --closure (plain exportReferencesGraph,
structured-attrs JSON or a closureInfo registration) and --out; missing NAR
hashes are computed from the store paths on disk.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "closure", Usage: "closure graph file (outside Nix)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "directory to write (outside Nix)"},
			&cli.StringFlag{Name: "store-dir", EnvVars: []string{"NIX_STORE"}, Value: registration.DefaultStoreDir, Usage: "the Nix store directory"},
			&cli.BoolFlag{Name: "check", Usage: "verify given NAR hashes and sizes against the store paths on disk"},
		},
		Action: func(c *cli.Context) error {
			g, out, err := closureInfoInput(c)
			if err != nil {
				return err
			}
			return nixdb.WriteClosureInfo(c.Context, g, out, c.Bool("check"))
		},
	}
}

// closureInfoInput reads the closure and the output directory from the
// structured attrs, or from the flags outside Nix.
func closureInfoInput(c *cli.Context) (*registration.Graph, string, error) {
	storeDir := c.String("store-dir")
	if c.String("closure") != "" || c.String("out") != "" {
		if c.String("closure") == "" || c.String("out") == "" {
			return nil, "", errors.New("closure-info: give both --closure and --out")
		}
		g, err := registration.ReadFile(c.String("closure"), storeDir)
		return g, c.String("out"), err
	}
	attrs, err := nixattrs.Load()
	if err != nil {
		return nil, "", fmt.Errorf("closure-info: %w; outside Nix give --closure and --out", err)
	}
	raw := attrs.Raw("closure")
	if raw == nil {
		return nil, "", fmt.Errorf("closure-info: structured attrs %s have no \"closure\" (set exportReferencesGraph.closure)", attrs.File)
	}
	g, err := registration.ParseStructured(raw, attrs.File, storeDir)
	if err != nil {
		return nil, "", err
	}
	out, err := attrs.Out()
	return g, out, err
}

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nixlayer/nixlayer/spec"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/nixattrs"
	"github.com/nixlayer/nixlayer/registration"
)

func buildLayerCommand() *cli.Command {
	return &cli.Command{
		Name:  "build-layer",
		Usage: "build a cached layer derivation's output: layer blobs and their descriptor (nl.buildLayer)",
		Description: `Run by Nix with structured attrs, the options come from the "nixlayer"
attribute and the closure of deps and copyToRoot from the "closure"
exportReferencesGraph; the output directory $out gets layer.json and
blobs/sha256/<hex>. Outside Nix, give --spec FILE, --closure and --out.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "spec", Usage: "JSON file with the layer options (the nixlayer attribute of nix/layer.nix)"},
			&cli.StringFlag{Name: "closure", Usage: "closure graph of deps and copyToRoot: exportReferencesGraph text, structured JSON list, or closureInfo registration"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "the output directory to write"},
		},
		Action: func(c *cli.Context) error {
			req, err := layerRequest(c)
			if err != nil {
				return err
			}
			return image.BuildLayer(c.Context, req)
		},
	}
}

// layerRequest adapts structured attrs, or flags when not run by Nix, into
// an image.LayerRequest.
func layerRequest(c *cli.Context) (*image.LayerRequest, error) {
	req := &image.LayerRequest{SourceDateEpoch: os.Getenv("SOURCE_DATE_EPOCH")}
	attrs, err := nixattrs.Load()
	switch {
	case err == nil:
		req.Spec, req.Graph, req.Out, err = fromAttrs(attrs, "the layer options", spec.ParseLayerSpec)
		return req, err
	case !errors.Is(err, nixattrs.ErrNotBuilder):
		return nil, err
	}
	if c.String("spec") == "" || c.String("closure") == "" || c.String("out") == "" {
		return nil, errors.New("outside a Nix build, --spec, --closure and --out are required")
	}
	data, err := os.ReadFile(c.String("spec"))
	if err != nil {
		return nil, fmt.Errorf("reading layer spec: %w", err)
	}
	if req.Spec, err = spec.ParseLayerSpec(data, c.String("spec")); err != nil {
		return nil, err
	}
	if req.Graph, err = registration.ReadFile(c.String("closure"), storeDir()); err != nil {
		return nil, err
	}
	req.Out, err = filepath.Abs(c.String("out"))
	return req, err
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/nixattrs"
	"github.com/nixlayer/nixlayer/registration"
)

func buildImageCommand() *cli.Command {
	return &cli.Command{
		Name:  "build-image",
		Usage: "build an image from a closure (as a Nix builder, or with flags)",
		Description: `Run by Nix with structured attrs, every option comes from the "nixlayer"
attribute and the closure from the "closure" exportReferencesGraph; the
image is written to $out. Outside Nix, give --closure (any closure graph
format) and --out, with options from --spec FILE and/or the flags.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "spec", Usage: "JSON file with the image options (the nixlayer attribute of nix/default.nix)"},
			&cli.StringFlag{Name: "closure", Usage: "closure graph: exportReferencesGraph text, structured JSON list, or closureInfo registration"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "where to write the image"},
			&cli.StringFlag{Name: "name", Usage: "image name"},
			&cli.StringFlag{Name: "tag", Usage: "image tag (default: latest)"},
			&cli.StringSliceFlag{Name: "contents", Usage: "store path whose files go at the image root (repeatable)"},
			&cli.StringFlag{Name: "config", Usage: "image config as a JSON object"},
			&cli.StringFlag{Name: "format", Usage: "docker-archive, oci-layout or oci-archive"},
			&cli.StringFlag{Name: "compression", Usage: "gzip, zstd or none"},
			&cli.StringFlag{Name: "architecture", Usage: "OCI architecture or Nix system (default: this system)"},
			&cli.StringFlag{Name: "layering", Usage: "none (one layer, as buildImage), popularity or size"},
			&cli.IntFlag{Name: "max-layers", Usage: "most layers of a layered image (2 to 127, default 100)"},
			&cli.StringFlag{Name: "from-image", Usage: "base image: docker-archive, OCI layout or oci-archive"},
			&cli.BoolFlag{Name: "include-nix-db", Usage: "add the Nix database of the image's store paths"},
		},
		Action: func(c *cli.Context) error {
			req, err := buildRequest(c)
			if err != nil {
				return err
			}
			return image.Build(c.Context, req)
		},
	}
}

// buildRequest adapts structured attrs, or flags when not run by Nix, into
// an image.Request.
func buildRequest(c *cli.Context) (*image.Request, error) {
	attrs, err := nixattrs.Load()
	switch {
	case err == nil:
		return requestFromAttrs(attrs)
	case !errors.Is(err, nixattrs.ErrNotBuilder):
		return nil, err
	}
	spec := &image.Spec{}
	if f := c.String("spec"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading image spec: %w", err)
		}
		if spec, err = image.ParseSpec(data, f); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		flag string
		dst  *string
	}{{"name", &spec.Name}, {"format", &spec.Format}, {"compression", &spec.Compression}, {"architecture", &spec.Architecture},
		{"layering", &spec.Layering}, {"from-image", &spec.FromImage}} {
		if c.IsSet(s.flag) {
			*s.dst = c.String(s.flag)
		}
	}
	if c.IsSet("tag") {
		t := c.String("tag")
		spec.Tag = &t
	}
	if c.IsSet("max-layers") {
		spec.MaxLayers = c.Int("max-layers")
	}
	if c.IsSet("include-nix-db") {
		spec.IncludeNixDB = c.Bool("include-nix-db")
	}
	if c.IsSet("contents") {
		spec.Contents = c.StringSlice("contents")
	}
	if c.IsSet("config") {
		spec.Config = json.RawMessage(c.String("config"))
	}
	if c.String("closure") == "" || c.String("out") == "" {
		return nil, errors.New("outside a Nix build, --closure and --out are required")
	}
	graph, err := registration.ReadFile(c.String("closure"), "")
	if err != nil {
		return nil, err
	}
	out, err := filepath.Abs(c.String("out"))
	if err != nil {
		return nil, err
	}
	return &image.Request{Spec: spec, Graph: graph, Out: out, DefaultTag: "latest", SourceDateEpoch: os.Getenv("SOURCE_DATE_EPOCH"), TempDir: os.TempDir()}, nil
}

func requestFromAttrs(a *nixattrs.Attrs) (*image.Request, error) {
	raw := a.Raw("nixlayer")
	if raw == nil {
		return nil, fmt.Errorf("structured attrs %s have no \"nixlayer\" attribute (the image options)", a.File)
	}
	spec, err := image.ParseSpec(raw, "attribute \"nixlayer\" of "+a.File)
	if err != nil {
		return nil, err
	}
	closure := a.Raw("closure")
	if closure == nil {
		return nil, fmt.Errorf("structured attrs %s have no \"closure\" attribute (exportReferencesGraph.closure)", a.File)
	}
	graph, err := registration.ParseStructured(closure, "attribute \"closure\" of "+a.File, "")
	if err != nil {
		return nil, err
	}
	out, err := a.Out()
	if err != nil {
		return nil, err
	}
	return &image.Request{Spec: spec, Graph: graph, Out: out, DefaultTag: outputHash(out), SourceDateEpoch: os.Getenv("SOURCE_DATE_EPOCH"), TempDir: os.TempDir()}, nil
}

// outputHash returns the hash part of a store path, dockerTools' default tag.
func outputHash(out string) string {
	base := filepath.Base(out)
	if len(base) > 32 {
		return base[:32]
	}
	return base
}

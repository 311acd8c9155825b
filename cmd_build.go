package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nixlayer/nixlayer/spec"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/layering"
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
		Flags: buildImageFlags(),
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
	spec, err := specFromFlags(c)
	if err != nil {
		return nil, err
	}
	if c.String("closure") == "" || c.String("out") == "" {
		return nil, errors.New("outside a Nix build, --closure and --out are required")
	}
	graph, err := registration.ReadFile(c.String("closure"), storeDir())
	if err != nil {
		return nil, err
	}
	out, err := filepath.Abs(c.String("out"))
	if err != nil {
		return nil, err
	}
	return &image.Request{Spec: spec, Graph: graph, Out: out, Env: buildEnv("latest")}, nil
}

func requestFromAttrs(a *nixattrs.Attrs) (*image.Request, error) {
	spec, graph, out, err := fromAttrs(a, "the image options", spec.ParseSpec)
	if err != nil {
		return nil, err
	}
	return &image.Request{Spec: spec, Graph: graph, Out: out, Env: buildEnv(outputHash(out))}, nil
}

// storeDir is the store directory of the closure: $NIX_STORE, which Nix
// sets for every builder from its store setting, as closure-info's
// --store-dir reads it; "" (/nix/store) when it is not set. The image puts
// the store paths, and its Nix database registers them, there.
func storeDir() string { return os.Getenv("NIX_STORE") }

// fromAttrs reads what a builder run by Nix is given in structured attrs:
// the options in the "nixlayer" attribute (what names them), parsed with
// parse, the closure graph of the "closure" exportReferencesGraph, and $out.
func fromAttrs[T any](a *nixattrs.Attrs, what string, parse func([]byte, string) (T, error)) (T, *registration.Graph, string, error) {
	var zero T
	raw := a.Raw("nixlayer")
	if raw == nil {
		return zero, nil, "", fmt.Errorf("structured attrs %s have no \"nixlayer\" attribute (%s)", a.File, what)
	}
	spec, err := parse(raw, "attribute \"nixlayer\" of "+a.File)
	if err != nil {
		return zero, nil, "", err
	}
	closure := a.Raw("closure")
	if closure == nil {
		return zero, nil, "", fmt.Errorf("structured attrs %s have no \"closure\" attribute (exportReferencesGraph.closure)", a.File)
	}
	graph, err := registration.ParseStructured(closure, "attribute \"closure\" of "+a.File, storeDir())
	if err != nil {
		return zero, nil, "", err
	}
	out, err := a.Out()
	if err != nil {
		return zero, nil, "", err
	}
	return spec, graph, out, nil
}

// buildEnv is what a build takes from the environment.
func buildEnv(defaultTag string) spec.Env {
	return spec.Env{DefaultTag: defaultTag, SourceDateEpoch: os.Getenv("SOURCE_DATE_EPOCH"), Now: time.Now, TempDir: os.TempDir(), Version: version}
}

// flagUsage describes the flags whose spec field needs more than its name.
var flagUsage = map[string]string{
	"name":               "image name",
	"tag":                "image tag (default: latest)",
	"contents":           "store path whose files go at the image root (repeatable)",
	"config":             "image config as a JSON object",
	"format":             "docker-archive, oci-layout or oci-archive",
	"compression":        "gzip, zstd or none",
	"architecture":       "OCI architecture or Nix system (default: this system)",
	"layering":           "none (one layer, as buildImage, the default here) or another strategy: " + strings.Join(layering.Names(), ", "),
	"max-layers":         "most layers of a layered image (2 to 127, default 100)",
	"from-image":         "base image: docker-archive, OCI layout or oci-archive",
	"include-nix-db":     "add the Nix database of the image's store paths",
	"sbom":               "false for no SBOM documents, or a JSON list of entries ({\"path\": STORE-PATH, \"license\": ...} or {\"name\": ..., \"version\": ...})",
	"sbom-meta":          "the contents' meta by store path, as JSON (nix/sbom.nix makes it)",
	"provenance":         "--provenance=false leaves the SLSA provenance statement out (it is made unless this says false)",
	"annotations":        "false for no OCI annotations, or a JSON object of strings over the defaults (title, created, version from --tag, the base's; null removes one); the defaults when absent",
	"run-as-root":        "script run as (fake) root with the image root as / (layering none); its changes are the image's layer",
	"fake-root-commands": "script run as (fake) root in the customisation layer's directory (a layered image)",
	"enable-fakechroot":  "run fake-root-commands with the image root as /",
	"shell":              "program that runs extra-commands and root scripts without a #! line (shell -c SCRIPT)",
}

// buildImageFlags are --spec, --closure, --out and one flag per field of
// spec.Spec, named after its JSON name ("maxLayers" → --max-layers).
func buildImageFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "spec", Usage: "JSON file with the image options (the nixlayer attribute of nix/default.nix); the other flags override its fields"},
		&cli.StringFlag{Name: "closure", Usage: "closure graph: exportReferencesGraph text, structured JSON list, or closureInfo registration"},
		&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "where to write the image"},
	}
	for _, f := range SpecFields() {
		usage := flagUsage[f.Flag]
		switch f.Kind {
		case StringField:
			if usage == "" {
				usage = fmt.Sprintf("the spec's %s field", f.JSON)
			}
			flags = append(flags, &cli.StringFlag{Name: f.Flag, Usage: usage})
		case BoolField:
			if usage == "" {
				usage = fmt.Sprintf("the spec's %s field", f.JSON)
			}
			flags = append(flags, &cli.BoolFlag{Name: f.Flag, Usage: usage})
		case StringsField:
			if usage == "" {
				usage = fmt.Sprintf("one string of the spec's %s field (repeatable)", f.JSON)
			}
			flags = append(flags, &cli.StringSliceFlag{Name: f.Flag, Usage: usage})
		default:
			if usage == "" {
				usage = fmt.Sprintf("the spec's %s field, as JSON", f.JSON)
			}
			flags = append(flags, &cli.StringFlag{Name: f.Flag, Usage: usage})
		}
	}
	return flags
}

// specFromFlags reads --spec (if given) with every set flag overlaid on it
// as the JSON value of its field, in one strict decoding step.
func specFromFlags(c *cli.Context) (*spec.Spec, error) {
	var data []byte
	source := "from flags"
	if f := c.String("spec"); f != "" {
		var err error
		if data, err = os.ReadFile(f); err != nil {
			return nil, fmt.Errorf("reading image spec: %w", err)
		}
		source = f
	}
	values := map[string]json.RawMessage{}
	for _, f := range SpecFields() {
		if !c.IsSet(f.Flag) {
			continue
		}
		v, err := f.FlagValue(c.String(f.Flag), c.StringSlice(f.Flag), c.Bool(f.Flag))
		if err != nil {
			return nil, err
		}
		values[f.JSON] = v
	}
	return OverlaySpec(data, source, values)
}

// outputHash returns the hash part of a store path, dockerTools' default tag.
func outputHash(out string) string {
	base := filepath.Base(out)
	if len(base) > 32 {
		return base[:32]
	}
	return base
}

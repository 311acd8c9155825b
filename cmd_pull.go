package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/nixattrs"
	"github.com/nixlayer/nixlayer/pull"
	"github.com/nixlayer/nixlayer/registry"
)

// registryFlags are the flags pull, pin and push share.
func registryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP and unverified TLS (pullImage's tlsVerify = false)"},
		&cli.StringFlag{Name: "ca-cert-file", Usage: "trust the PEM certificates in this file instead of the system's"},
		&cli.IntFlag{Name: "jobs", Value: 4, Usage: "blobs moved at once"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "report no progress"},
		&cli.StringFlag{Name: "connect-timeout", Usage: "bound on TCP connect, TLS handshake and response headers, a Go duration (default 30s/30s/60s, or $" + registry.EnvConnectTimeout + ")"},
		&cli.StringFlag{Name: "idle-timeout", Usage: "bound on a body or upload that sends nothing, a Go duration (default 60s, or $" + registry.EnvIdleTimeout + "); the window of --min-rate"},
		&cli.StringFlag{Name: "min-rate", Usage: "least bytes a second a body or upload must move over each idle-timeout window (default 1024, or $" + registry.EnvMinRate + ")"},
	}
}

func platformFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "os", Value: "linux", Usage: "OS of the image to choose from an index"},
		&cli.StringFlag{Name: "arch", Usage: "architecture (OCI name or Nix system) to choose from an index (default: this machine's)"},
		&cli.StringFlag{Name: "variant", Usage: "architecture variant to choose from an index (default: any)"},
	}
}

func registryOptions(c *cli.Context) ([]registry.Option, error) {
	t, err := registry.ParseTimeouts("--connect-timeout", c.String("connect-timeout"), "--idle-timeout", c.String("idle-timeout"))
	if err != nil {
		return nil, err
	}
	if v := c.String("min-rate"); v != "" {
		if t.MinRate, err = registry.ParseMinRate("--min-rate", v); err != nil {
			return nil, err
		}
	}
	opts := []registry.Option{registry.WithInsecure(c.Bool("insecure")), registry.WithJobs(c.Int("jobs")), registry.WithTimeouts(t)}
	if f := c.String("ca-cert-file"); f != "" {
		opts = append(opts, registry.WithCACertFile(f))
	}
	if !c.Bool("quiet") {
		opts = append(opts, registry.WithProgress(os.Stderr))
	}
	return opts, nil
}

// pullOptions reads --format and the registry and platform flags.
func pullOptions(c *cli.Context) (format.Format, []registry.Option, error) {
	format, err := format.Parse(c.String("format"))
	if err != nil {
		return "", nil, err
	}
	p, err := pull.Platform(c.String("os"), c.String("arch"), c.String("variant"), "")
	if err != nil {
		return "", nil, err
	}
	opts, err := registryOptions(c)
	if err != nil {
		return "", nil, err
	}
	return format, append(opts, registry.WithPlatform(p)), nil
}

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "fetch an image by digest into a deterministic docker-archive or OCI layout (as pullImage's builder, or with flags)",
		ArgsUsage: "[NAME@DIGEST]",
		Description: `Run by Nix with structured attrs, the arguments come from the "nixlayer"
attribute (see nix/pull.nix) and the image is written to $out. Outside Nix,
give NAME@DIGEST and --out.`,
		Flags: append(append(registryFlags(), platformFlags()...),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "where to write the image"},
			&cli.StringFlag{Name: "format", Value: "docker-archive", Usage: "docker-archive, oci-layout or oci-archive"},
			&cli.StringFlag{Name: "final-name", Usage: "name to tag the image with (default: NAME)"},
			&cli.StringFlag{Name: "final-tag", Value: "latest", Usage: "tag to tag the image with"},
		),
		Action: func(c *cli.Context) error {
			attrs, err := nixattrs.Load()
			switch {
			case err == nil:
				spec, err := pull.ParseSpec(attrs.Raw("nixlayer"), attrs.File)
				if err != nil {
					return err
				}
				out, err := attrs.Out()
				if err != nil {
					return err
				}
				return pull.Pull(c.Context, spec.Request(), out, append(spec.Options(), registry.WithProgress(os.Stderr))...)
			case !errors.Is(err, nixattrs.ErrNotBuilder):
				return err
			}
			ref := c.Args().First()
			i := strings.LastIndex(ref, "@")
			if c.NArg() != 1 || c.String("out") == "" || i < 0 {
				return fmt.Errorf("pull: give NAME@DIGEST and --out FILE (got %q; nixlayer pin resolves a tag)", ref)
			}
			format, opts, err := pullOptions(c)
			if err != nil {
				return err
			}
			req := pull.Request{ImageName: ref[:i], ImageDigest: ref[i+1:], FinalImageName: c.String("final-name"), FinalImageTag: c.String("final-tag"), Format: format}
			return pull.Pull(c.Context, req, c.String("out"), opts...)
		},
	}
}

func pinCommand() *cli.Command {
	return &cli.Command{
		Name:      "pin",
		Usage:     "resolve NAME[:TAG] and print the pullImage arguments that fetch it (like nix-prefetch-docker)",
		ArgsUsage: "NAME[:TAG]",
		Flags: append(append(registryFlags(), platformFlags()...),
			&cli.StringFlag{Name: "format", Value: "docker-archive", Usage: "docker-archive, oci-layout or oci-archive (the hash depends on it)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a Nix attribute set"},
			&cli.StringFlag{Name: "lock", Usage: "write a lock file for pullImageFromLock (each blob by digest) to this file instead"},
		),
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			format, opts, err := pullOptions(c)
			if err != nil {
				return err
			}
			if lock := c.String("lock"); lock != "" {
				return writeLock(c, lock, opts)
			}
			p, err := pull.Pin(c.Context, c.Args().First(), format, opts...)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			}
			_, err = fmt.Fprint(c.App.Writer, p.Nix())
			return err
		},
	}
}

// writeLock writes the lock file of pin --lock FILE.
func writeLock(c *cli.Context, file string, opts []registry.Option) error {
	l, err := pull.MakeLock(c.Context, c.Args().First(), opts...)
	if err != nil {
		return err
	}
	data, err := l.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.File(file, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	}); err != nil {
		return fmt.Errorf("writing lock file %s: %w", file, err)
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s: %s@%s, %d layers\n", file, l.ImageName, l.Manifest.Digest, len(l.Layers))
	return err
}

// pullLockedCommand is the builder of pullImageFromLock's derivations
// (nix/pull.nix): with a "blob" in its attrs, it fetches that blob (a
// fixed-output derivation); else it assembles the fetched blobs.
func pullLockedCommand() *cli.Command {
	return &cli.Command{
		Name:   "pull-locked",
		Usage:  "fetch a blob of a lock file, or assemble the image (the builder of pullImageFromLock)",
		Hidden: true,
		Action: func(c *cli.Context) error {
			attrs, err := nixattrs.Load()
			if err != nil {
				return err
			}
			out, err := attrs.Out()
			if err != nil {
				return err
			}
			raw := attrs.Raw("nixlayer")
			var probe struct{ Blob json.RawMessage }
			if err := json.Unmarshal(raw, &probe); err != nil {
				return fmt.Errorf("reading pullImageFromLock arguments in %s: %w", attrs.File, err)
			}
			if probe.Blob != nil {
				s, err := pull.ParseBlobSpec(raw, attrs.File)
				if err != nil {
					return err
				}
				return pull.FetchLockedBlob(c.Context, s, out)
			}
			s, err := pull.ParseAssembleSpec(raw, attrs.File)
			if err != nil {
				return err
			}
			return pull.Assemble(s, out)
		},
	}
}

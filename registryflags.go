package main

import (
	"os"

	"github.com/urfave/cli/v2"

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
		&cli.StringFlag{Name: "idle-timeout", Usage: "bound on a body or upload that sends nothing, a Go duration (default 60s, or $" + registry.EnvIdleTimeout + ")"},
	}
}

func registryOptions(c *cli.Context) ([]registry.Option, error) {
	t, err := registry.ParseTimeouts("--connect-timeout", c.String("connect-timeout"), "--idle-timeout", c.String("idle-timeout"))
	if err != nil {
		return nil, err
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

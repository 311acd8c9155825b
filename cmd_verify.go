package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/sign"
	"github.com/nixlayer/nixlayer/verify"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check that an image in a registry is what a local build made, and with --key that it is signed",
		ArgsUsage: "REF",
		Description: `REF is the image in the registry, NAME:TAG or NAME@DIGEST. --image is the
local build (anything push takes). Prints what agrees; exits non-zero naming
each difference: the manifest, the config, a layer by its place with both
digests; for an index each image. With --key, a signature of each manifest
and a SLSA provenance attestation of each image must verify with that
public key (cosign's tags, as nixlayer push --sign-key writes them).`,
		Flags: append(registryFlags(),
			&cli.StringFlag{Name: "image", Required: true, Usage: "the local build to compare with (a docker-archive, OCI layout or archive, stream script, index)"},
			&cli.StringFlag{Name: "key", Usage: "a PEM public key (cosign.pub) the signatures and the provenance attestation must verify with"},
		),
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			opts, err := registryOptions(c)
			if err != nil {
				return err
			}
			var key *sign.Verifier
			if p := c.String("key"); p != "" {
				if key, err = sign.LoadPublicKey(p); err != nil {
					return err
				}
			}
			res, err := verify.Verify(c.Context, c.Args().Get(0), c.String("image"), key, opts...)
			if err != nil {
				return err
			}
			for _, l := range res.Checked {
				fmt.Fprintf(c.App.Writer, "ok: %s\n", l)
			}
			for _, l := range res.Differences {
				fmt.Fprintf(c.App.ErrWriter, "differs: %s\n", l)
			}
			if !res.OK() {
				return fmt.Errorf("%s is not %s: %d difference(s), each said above", res.Reference, c.String("image"), len(res.Differences))
			}
			_, err = fmt.Fprintf(c.App.Writer, "%s is %s\n", res.Reference, c.String("image"))
			return err
		},
	}
}

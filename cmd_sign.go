package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/push"
	"github.com/nixlayer/nixlayer/registry"
	"github.com/nixlayer/nixlayer/sign"
)

// signFlags are push's flags for signatures and attestations.
func signFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "sign-key", Usage: "sign the pushed manifest and the attestations with this private key: a cosign key (cosign generate-key-pair; password in $" + sign.DefaultPasswordEnv + ") or a PEM PKCS#8 ECDSA P-256 or Ed25519 key"},
		&cli.StringFlag{Name: "sign-key-password-env", Value: sign.DefaultPasswordEnv, Usage: "the environment variable that holds the password of an encrypted --sign-key"},
		&cli.BoolFlag{Name: "no-provenance", Usage: "do not attach the image's provenance statement (signed with --sign-key, else unsigned as an OCI referrer)"},
		&cli.StringSliceFlag{Name: "attest", Usage: "attach this in-toto statement (JSON) to the pushed manifest its subject names, signed with --sign-key (repeatable)"},
	}
}

// signingInputs reads --sign-key and the --attest statements.
func signingInputs(c *cli.Context, dest push.Destination) (*sign.Key, [][]byte, error) {
	path, files := c.String("sign-key"), c.StringSlice("attest")
	if (path != "" || len(files) > 0) && dest.Target != push.Registry {
		return nil, nil, fmt.Errorf("--sign-key and --attest sign what a registry holds, not an image loaded into %s (%s)", dest.Target, dest)
	}
	var key *sign.Key
	if path != "" {
		var err error
		if key, err = sign.LoadPrivateKey(path, sign.PasswordFromEnv(c.String("sign-key-password-env"))); err != nil {
			return nil, nil, err
		}
	}
	statements := make([][]byte, 0, len(files))
	for _, f := range files {
		data, err := regularfile.ReadAll(f, sign.MaxStatementBytes, false)
		if err != nil {
			return nil, nil, fmt.Errorf("--attest %s: %w", f, err)
		}
		if _, err := sign.ParseStatement(data); err != nil {
			return nil, nil, fmt.Errorf("--attest %s: %w", f, err)
		}
		statements = append(statements, data)
	}
	return key, statements, nil
}

// signPushed signs what push put from src, attests the statements, the
// image's provenance statement (unless --no-provenance; without a key,
// unsigned, as a referrer) and, with a key (unless --no-sbom), the
// image's SBOM documents. What was not attached is a warning, not an
// error: the image is pushed.
func signPushed(c *cli.Context, src string, p *push.Pushed, key *sign.Key, statements [][]byte, opts []registry.Option) {
	warn := func(err error) {
		fmt.Fprintf(c.App.ErrWriter, "nixlayer push: warning: %s is pushed, but not all its signatures and attestations were attached:\n%v\n", p.Reference, err)
	}
	if !c.Bool("no-provenance") {
		prov, err := push.Provenance(c.Context, src, p, opts...)
		if err != nil {
			warn(err)
		}
		statements = append(statements, prov...)
	}
	if key == nil && len(statements) == 0 {
		return
	}
	if key != nil && !c.Bool("no-sbom") {
		docs, skipped, err := push.SBOMStatements(c.Context, src, p, opts...)
		if err != nil {
			warn(err)
		}
		for _, s := range skipped {
			warn(fmt.Errorf("%s is over the %d byte limit of an attestation: not attested", s, sign.MaxStatementBytes))
		}
		statements = append(statements, docs...)
	}
	done, err := push.Sign(c.Context, p, key, statements, opts...)
	if !c.Bool("quiet") {
		for _, d := range done {
			fmt.Fprintf(c.App.ErrWriter, "attached %s\n", d)
		}
	}
	if err != nil {
		warn(err)
	}
}

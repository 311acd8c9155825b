// Command nixlayer turns a Nix store closure into a container image. Nix runs
// it as the builder of a derivation (see nix/default.nix); the same commands
// work from a shell with flags. Each command adapts its flags into one call
// of a package: no logic lives here.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/nixlayer/nixlayer/rootscript"

	"github.com/urfave/cli/v2"
)

// version is set by the linker (-X main.version=...).
var version = "dev"

// gcPercent replaces Go's default GOGC of 100 unless GOGC is set. Most of
// nixlayer's heap is a few large buffers reused for the whole run (zstd
// frames), which the default would let garbage double; the garbage itself
// is small and has few pointers, so collecting it sooner costs little.
const gcPercent = 50

// builderUmask is the umask Nix gives every builder. Every command runs
// with it, from a shell too, so that the files extraCommands and root
// scripts make, which go into layers with the modes they have, get the
// same modes as under Nix whatever the user's umask.
const builderUmask = 0o022

func main() {
	rootscript.Init() // a root script's namespaces: runs it and exits
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	syscall.Umask(builderUmask)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := newApp()
	if err := app.RunContext(ctx, reorderArgs(app, os.Args)); err != nil {
		fmt.Fprintf(os.Stderr, "nixlayer: %v\n", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "nixlayer",
		Usage:   "build container images from Nix store closures",
		Version: version,
		// Errors are printed once, by main.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			buildImageCommand(), buildLayerCommand(), buildIndexCommand(),
			closureInfoCommand(),
			streamCommand(),
			pullCommand(), pinCommand(), pullLockedCommand(), pushCommand(), verifyCommand(), writeAppCommand(), writeFilesCommand(),
			exportCommand(), mergeImagesCommand(), setReportCommand(),
			inspectCommand(), sbomCommand(), provenanceCommand(),
		},
	}
}

// needArgs checks that a command got n arguments; its error shows the
// command's usage.
func needArgs(c *cli.Context, n int) error {
	if c.NArg() == n {
		return nil
	}
	return fmt.Errorf("usage: nixlayer %s %s (got %d arguments)", c.Command.Name, c.Command.ArgsUsage, c.NArg())
}

package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/rootscript"
	"github.com/nixlayer/nixlayer/stream"
)

// runScript runs the image's root script over its root entries and
// returns the entries of the image's own layer: for fakeRootCommands every
// file of the customisation layer as the script left it, for runAsRoot
// what the script added, changed or deleted (whiteouts) over the base
// image's files, besides the root entries. A script that sees the image's
// root as / has the store of the build bound read-only in it: the
// closure, and in the Nix sandbox the build's other inputs (the shell).
// The files the script made stay in its tree, which p.tree keeps until the
// output is written (see Plan); a stream script, replayed once the build
// is gone, holds them instead (embedScript).
func (p *planner) runScript(ctx context.Context, root []layers.Entry) ([]layers.Entry, error) {
	sc := p.set.Script
	tree, err := rootscript.New(p.set.TempDir)
	if err != nil {
		return nil, err
	}
	kept := false
	defer func() {
		if !kept {
			tree.Close()
		}
	}()
	if sc.OverBase {
		if p.base != nil {
			if err := p.extractBase(tree); err != nil {
				return nil, err
			}
		}
		if err := tree.Snapshot(); err != nil {
			return nil, err
		}
	}
	if err := tree.Add(root); err != nil {
		return nil, err
	}
	opts := rootscript.Options{Name: sc.Name, Script: sc.Script, Shell: sc.Shell, Chroot: sc.Chroot, Log: os.Stderr}
	if sc.Chroot {
		opts.StoreDir = p.graph.StoreDir()
	}
	if err := tree.Run(ctx, opts); err != nil {
		return nil, err
	}
	if err := userAfter(tree, p.set.Config.User, sc.Name); err != nil {
		return nil, err
	}
	changes, err := tree.Changes()
	if err != nil {
		return nil, err
	}
	if p.set.Stream {
		return changes, embedScript(tree, changes, sc.Name)
	}
	p.tree, kept = tree, true
	return changes, nil
}

// embedScript puts the content of the files a stream's root script made
// into their entries: the stream script holds them (base64 in its JSON),
// and is read whole, at most stream.MaxScriptBytes.
func embedScript(tree *rootscript.Tree, changes []layers.Entry, script string) error {
	err := tree.Embed(changes, maxStreamScriptFiles, script)
	if err != nil {
		return fmt.Errorf("%w: a stream script (streamLayeredImage) holds the files its root script makes and is at most %d bytes; make large files in a store path put in contents, or build the image (buildLayeredImage)", err, stream.MaxScriptBytes)
	}
	return nil
}

// userAfter checks config.User's name against the /etc/passwd the script
// left, when the tree has one as a regular file: the image's own, above
// any other (the check before the script could not know it). It is found
// as the image would find it, symlinks resolved inside the tree.
func userAfter(tree *rootscript.Tree, user, script string) error {
	name, _, _ := strings.Cut(user, ":")
	if _, err := strconv.ParseUint(name, 10, 32); name == "" || err == nil {
		return nil
	}
	data, err := tree.ReadFile("etc/passwd", maxBaseUserFileBytes)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, regularfile.ErrNotRegular) {
		return nil
	}
	if err == nil {
		var accounts []customize.Account
		if accounts, err = customize.ParsePasswd(data); err == nil {
			var users []string
			for _, a := range accounts {
				if a.Name == name {
					return nil
				}
				users = append(users, a.Name)
			}
			return fmt.Errorf("config.User = %q: user %q is not in the /etc/passwd %s left (its users are %s)", user, name, script, strings.Join(users, ", "))
		}
	}
	return fmt.Errorf("reading the /etc/passwd %s left: %w", script, err)
}

// extractBase puts the base image's flattened root into the tree.
func (p *planner) extractBase(tree *rootscript.Tree) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(base.Flatten(p.base, pw, p.set.MTime)) }()
	err := tree.Extract(pr)
	pr.CloseWithError(err)
	if err != nil {
		return fmt.Errorf("putting base image %s under %s: %w", p.set.Base.Path, p.set.Script.Name, err)
	}
	return nil
}

package customize

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/nixlayer/nixlayer/layers"
)

// RunExtraCommands runs script with `shell -c script` in a new empty
// directory and returns the tree it leaves there as entries owned by root
// whose file contents are held in memory (Data), so that they outlive the
// directory. PATH, when the environment has none (Nix builders with
// structured attrs), is the shell's directory. A script that exits non-zero
// is an error showing its exit status and output.
func RunExtraCommands(shell, script string) ([]layers.Entry, error) {
	dir, err := os.MkdirTemp("", "nixlayer-extra-")
	if err != nil {
		return nil, fmt.Errorf("making a directory for extraCommands: %w", err)
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(shell, "-c", script)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if os.Getenv("PATH") == "" {
		cmd.Env = append(cmd.Env, "PATH="+filepath.Dir(shell))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("running extraCommands with %s: %v; its output:\n%s", shell, ee, out.Bytes())
		}
		return nil, fmt.Errorf("running extraCommands with %s: %w", shell, err)
	}
	entries, err := layers.Contents([]string{dir}, layers.Copy)
	if err != nil {
		return nil, fmt.Errorf("reading what extraCommands made: %w", err)
	}
	for i := range entries {
		e := &entries[i]
		if e.Type != tar.TypeReg {
			continue
		}
		data, err := os.ReadFile(e.Source)
		if err != nil {
			return nil, fmt.Errorf("reading what extraCommands made: %w", err)
		}
		e.Data, e.Source, e.Size = data, "", int64(len(data))
	}
	return entries, nil
}

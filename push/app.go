package push

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nixlayer/nixlayer/internal/atomicfile"
)

// WriteApp writes the directory out with one executable, out/bin/<name>,
// holding text: the apps copyToRegistry and copyToDockerDaemon of
// nix/push.nix, built by nixlayer itself as their derivation's builder.
// Nothing is left at out on failure.
func WriteApp(out, name, text string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("writing app %q: the name must be a plain file name", name)
	}
	return atomicfile.Dir(out, func(dir string) error {
		bin := filepath.Join(dir, "bin")
		if err := os.Mkdir(bin, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(bin, name), []byte(text), 0o555)
	})
}

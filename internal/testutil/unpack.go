package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// Unpack converts a docker-archive to an OCI layout with skopeo and unpacks
// it with umoci (rootless when not run as root), returning the root file
// system directory.
func Unpack(t testing.TB, archive string) string {
	t.Helper()
	RequireTool(t, "skopeo")
	RequireTool(t, "umoci")
	dir := t.TempDir()
	layout := filepath.Join(dir, "oci")
	Run(t, "", nil, "skopeo", "copy", "-q", "docker-archive:"+archive, "oci:"+layout+":img")
	bundle := filepath.Join(dir, "bundle")
	Run(t, "", nil, "umoci", UnpackArgs("--image", layout+":img", bundle)...)
	return filepath.Join(bundle, "rootfs")
}

// UnpackArgs is the argument list of `umoci unpack args...`, with
// --rootless when not run as root.
func UnpackArgs(args ...string) []string {
	out := []string{"unpack"}
	if os.Geteuid() != 0 {
		out = append(out, "--rootless")
	}
	return append(out, args...)
}

package rootscript

import (
	"fmt"
	"os"
	"strconv"
)

// The limits of a root script's run and capture (the README's "Limits").
// The entries bound is the one base images have, under the same
// environment variable.
const (
	defaultMaxEntries   = 1 << 20   // files in the tree at capture; files the faked calls change
	defaultMaxFileBytes = 256 << 20 // one file the script made or changed (left in the tree, read when the layer is written)
	defaultMaxBytes     = 1 << 30   // all of them together

	maxNamed  = 32       // processes a script left running its error names (it counts the others)
	maxShown  = 64 << 10 // the end of a failed script's output its error shows
	maxLogged = 16 << 20 // the script's output passed on to the build log, then its end
	// maxResultBytes bounds what the script's namespaces report (one
	// record per file changed, about 100 bytes each).
	maxResultBytes = 512 << 20
)

// Environment variables raising the limits.
const (
	envMaxEntries   = "NIXLAYER_MAX_ENTRIES"
	envMaxFileBytes = "NIXLAYER_MAX_SCRIPT_FILE_BYTES"
	envMaxBytes     = "NIXLAYER_MAX_SCRIPT_BYTES"
)

// limits are the bounds of one capture.
type limits struct {
	entries          int
	fileBytes, bytes int64
}

func readLimits() (limits, error) {
	var l limits
	n, err := envLimit(envMaxEntries, defaultMaxEntries)
	if err != nil {
		return l, err
	}
	l.entries = int(n)
	if l.fileBytes, err = envLimit(envMaxFileBytes, defaultMaxFileBytes); err != nil {
		return l, err
	}
	l.bytes, err = envLimit(envMaxBytes, defaultMaxBytes)
	return l, err
}

// envLimit is the positive integer in $name, or def when it is not set.
func envLimit(name string, def int64) (int64, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("$%s = %q: want a positive integer", name, v)
	}
	return n, nil
}

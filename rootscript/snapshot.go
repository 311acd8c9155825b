//go:build linux

package rootscript

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Snapshot remembers what the tree holds now: Changes gives what differs
// from it. It returns once the clock that stamps change times has moved
// past every change already made, so that a later change cannot carry the
// time of an earlier one.
func (t *Tree) Snapshot() error {
	t.before = []snap{}
	latest := t.latest
	err := filepath.WalkDir(t.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(t.root, p)
		_, ctime, err := statID(p)
		if err != nil {
			return err
		}
		latest = max(latest, ctime)
		if rel != "." {
			t.before = append(t.before, snap{name: filepath.ToSlash(rel), ctime: ctime, dir: d.IsDir()})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the root script's tree: %w", err)
	}
	return t.waitClock(latest)
}

// waitClock returns once the clock that stamps change times has moved past
// latest: a change made after it returns cannot carry the change time of
// one made before (file systems stamp change times with a coarse clock).
func (t *Tree) waitClock(latest int64) error {
	probe := filepath.Join(t.work, "clock")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fmt.Errorf("reading the file clock: %w", err)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if err := os.Chmod(probe, 0o600); err != nil {
			return fmt.Errorf("reading the file clock: %w", err)
		}
		if _, ctime, err := statID(probe); err != nil || ctime > latest {
			return err
		}
	}
	return errors.New("reading the file clock: the change time of files did not move in 2 s")
}

// snapOf is what Snapshot kept of name.
func (t *Tree) snapOf(name string) (snap, bool) {
	i := sort.Search(len(t.before), func(i int) bool { return cmpName(t.before[i].name, name) >= 0 })
	if i < len(t.before) && t.before[i].name == name {
		return t.before[i], true
	}
	return snap{}, false
}

// lessName orders image paths so that a directory comes before what it
// holds: the order filepath.WalkDir visits them in.
func lessName(a, b string) bool { return cmpName(a, b) < 0 }

// cmpName compares image paths as if "/" were the smallest byte.
func cmpName(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		if x < y {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

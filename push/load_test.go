package push

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNewCommandKillsItsGroup: cancelling the context of a loader kills it
// and every process it started (podman and ctr run helpers), and Wait
// returns.
func TestNewCommandKillsItsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newCommand(ctx, []string{"/bin/sh", "-c", "sleep 300 & echo $! > " + pidFile + "; wait"})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var child int
	for deadline := time.Now().Add(10 * time.Second); child == 0; time.Sleep(20 * time.Millisecond) {
		data, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		if time.Now().After(deadline) {
			t.Fatal("the child never started")
		}
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Wait did not return after cancel")
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// The grandchild is reparented and reaped by init (or this test's
		// subreaper); gone, or a zombie, it runs no more.
		data, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		if err != nil || strings.Contains(string(data), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d that the loader started still runs after cancel: %s", child, data)
		}
	}
}

// TestDaemonUnreachable: a containerd destination that cannot be reached
// fails at once, naming the destination and why, before anything is read.
func TestDaemonUnreachable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		d    Destination
		want string
	}{
		{"no socket", Destination{Target: Containerd, ContainerdAddress: filepath.Join(dir, "none.sock")}, "no socket at"},
		{"not a socket", Destination{Target: Containerd, ContainerdAddress: file}, "is not a socket"},
		{"bad namespace", Destination{Target: Containerd, ContainerdNamespace: "-x-"}, `namespace "-x-" is not valid`},
		{"namespace too long", Destination{Target: Containerd, ContainerdNamespace: strings.Repeat("a", 77)}, "is not valid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dm := daemonFor(c.d)
			dm.load[0] = "/bin/sh" // present whether ctr is or not
			start := time.Now()
			err := dm.reachable(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "containerd at ") {
				t.Errorf("reachable() = %v, want an error naming containerd and %q", err, c.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("it took %s to say so", d)
			}
		})
	}
}

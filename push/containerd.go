package push

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ctrClient runs ctr against one containerd socket and namespace.
type ctrClient struct{ addr, ns string }

func newCtrClient(d Destination) *ctrClient {
	addr, ns := d.containerd()
	return &ctrClient{addr: addr, ns: ns}
}

// argv is a ctr command line for this containerd.
func (c *ctrClient) argv(args ...string) []string {
	return append([]string{"ctr", "--address", c.addr, "--namespace", c.ns}, args...)
}

// check is checkContainerd of c.
func (c *ctrClient) check() error { return checkContainerd(c.addr, c.ns) }

// containerd returns the socket and namespace of a containerd:
// destination: the fields, else ctr's environment variables, else ctr's
// defaults.
func (d Destination) containerd() (addr, ns string) {
	addr, ns = d.ContainerdAddress, d.ContainerdNamespace
	if addr == "" {
		addr = os.Getenv(EnvContainerdAddress)
	}
	if addr == "" {
		addr = DefaultContainerdAddress
	}
	if ns == "" {
		ns = os.Getenv(EnvContainerdNamespace)
	}
	if ns == "" {
		ns = DefaultContainerdNamespace
	}
	return strings.TrimPrefix(addr, "unix://"), ns
}

// namespaceRE is containerd's rule for a namespace (identifiers.Validate).
var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)

// checkContainerd fails at once, with the reason, when ns is not a name
// containerd takes or nothing listens at the socket addr (ctr would wait
// ten seconds to say so).
func checkContainerd(addr, ns string) error {
	if len(ns) > 76 || !namespaceRE.MatchString(ns) {
		return fmt.Errorf("namespace %q is not valid: letters and digits, separated by single '.', '_' or '-', at most 76 characters", ns)
	}
	fi, err := os.Stat(addr)
	if err != nil {
		return fmt.Errorf("no socket at %s (is containerd running? set --containerd-address or $%s): %w", addr, EnvContainerdAddress, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s is not a socket (set --containerd-address or $%s)", addr, EnvContainerdAddress)
	}
	c, err := net.DialTimeout("unix", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("nothing answers at %s (is containerd running?): %w", addr, err)
	}
	return c.Close()
}

// maxContentList bounds the digests read from `ctr content ls`: a larger
// store is asked no further (its other blobs are sent).
const maxContentList = 1_000_000

// has returns which of want containerd's content store (in c's
// namespace) holds, reading `ctr content ls -q` line by line; on any
// failure, none (every blob is sent).
func (c *ctrClient) has(ctx context.Context, want []v1.Hash) map[v1.Hash]bool {
	wanted := map[string]v1.Hash{}
	for _, h := range want {
		wanted[h.String()] = h
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := newCommand(ctx, c.argv("content", "ls", "-q"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil
	}
	if err := cmd.Start(); err != nil {
		return nil
	}
	got := map[v1.Hash]bool{}
	sc := bufio.NewScanner(out)
	for n := 0; n < maxContentList && sc.Scan(); n++ {
		if h, ok := wanted[strings.TrimSpace(sc.Text())]; ok {
			got[h] = true
		}
	}
	cancel() // a longer list is not read to its end
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil && ctx.Err() == nil {
		return nil
	}
	return got
}

// exists reports whether containerd has an image named ref (false when it
// cannot tell).
func (c *ctrClient) exists(ctx context.Context, ref string) bool {
	out, err := newCommand(ctx, c.argv("images", "ls", "-q", "name=="+ref)).Output()
	return err == nil && strings.TrimSpace(string(out)) != ""
}

// remove removes the image record ref (a failed import's).
func (c *ctrClient) remove(ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	newCommand(ctx, c.argv("images", "rm", ref)).Run()
}

// containerdName is the name containerd gives an image tagged ref: the
// full reference, docker.io/library/NAME:TAG for a short name, as ctr and
// nerdctl write it.
func containerdName(ref string) (string, error) {
	t, err := name.NewTag(ref, name.WeakValidation)
	if err != nil {
		return "", err
	}
	reg := t.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + t.RepositoryStr() + ":" + t.TagStr(), nil
}

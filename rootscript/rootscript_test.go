//go:build linux

package rootscript

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/layers"
)

func TestMain(m *testing.M) {
	Init()
	runAttackChild()
	runMknod()
	os.Exit(m.Run())
}

// busybox is a static shell for the scripts, sh in a directory of
// busybox's applets, skipping the test without one.
func busybox(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox is not installed (tests/setup.sh installs busybox-static)")
	}
	// Not under /tmp, where a chrooted script gets a tmpfs over the mount
	// point of this directory.
	dir, err := os.MkdirTemp("/var/tmp", "nixlayer-busybox-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Mkdir(dir+"/bin", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("cp", p, dir+"/bin/busybox").Run(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(dir+"/bin/busybox", "--install", "-s", dir+"/bin").CombinedOutput(); err != nil {
		t.Fatalf("busybox --install: %v: %s", err, out)
	}
	return dir + "/bin/sh"
}

// storeOf is a directory standing for the store, holding dir (a
// directory at the top of /var/tmp).
func storeOf(t *testing.T, dir string) string {
	return path.Dir(path.Dir(dir))
}

func newTree(t testing.TB) *Tree {
	t.Helper()
	tr, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func byName(es []layers.Entry) map[string]layers.Entry {
	m := map[string]layers.Entry{}
	for _, e := range es {
		m[e.Name] = e
	}
	return m
}

// TestFakeRoot runs a script in the tree's directory (fakeRootCommands):
// every file of the tree comes back, with the owners, devices, hard links,
// FIFOs and modes it made.
func TestFakeRoot(t *testing.T) {
	bb := busybox(t)
	tr := newTree(t)
	if err := tr.Add([]layers.Entry{layers.Dir("etc", 0o755), layers.File("etc/motd", 0o644, []byte("hi\n"))}); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"set -e",
		"mkdir -p home/alice dev",
		"chown 1000:100 home/alice",
		"touch home/alice/notes && chown -h 1001 home/alice/notes",
		"mknod dev/null c 1 3 && mknod dev/sda b 8 0",
		"mkfifo run.fifo",
		"echo data > a && ln a b",
		"ln -s /etc/motd motd && chown -h 7:8 motd",
		"chmod 1777 home && chmod 4755 a",
		"chown 5 etc/motd",
	}, "\n")
	got := runChanges(t, tr, script, bb)
	m := byName(got)
	check := func(name string, typ byte, mode int64, uid, gid int) layers.Entry {
		t.Helper()
		e, ok := m[name]
		if !ok {
			t.Fatalf("no entry /%s in %v", name, names(got))
		}
		if e.Type != typ || e.Mode != mode || e.Uid != uid || e.Gid != gid {
			t.Errorf("/%s: type %q mode %o owner %d:%d, want %q %o %d:%d", name, e.Type, e.Mode, e.Uid, e.Gid, typ, mode, uid, gid)
		}
		return e
	}
	check("home/alice", tar.TypeDir, 0o755, 1000, 100)
	check("home/alice/notes", tar.TypeReg, 0o644, 1001, 0)
	check("home", tar.TypeDir, 0o1777, 0, 0)
	if e := check("dev/null", tar.TypeChar, 0o644, 0, 0); e.Devmajor != 1 || e.Devminor != 3 {
		t.Errorf("/dev/null is %d,%d, want 1,3", e.Devmajor, e.Devminor)
	}
	if e := check("dev/sda", tar.TypeBlock, 0o644, 0, 0); e.Devmajor != 8 || e.Devminor != 0 {
		t.Errorf("/dev/sda is %d,%d, want 8,0", e.Devmajor, e.Devminor)
	}
	check("run.fifo", tar.TypeFifo, 0o644, 0, 0)
	if e := check("a", tar.TypeReg, 0o4755, 0, 0); content(t, e) != "data\n" {
		t.Errorf("/a holds %q", content(t, e))
	}
	if e := check("b", tar.TypeLink, 0o4755, 0, 0); e.Linkname != "a" {
		t.Errorf("/b links to %q, want a", e.Linkname)
	}
	if e := check("motd", tar.TypeSymlink, 0o777, 7, 8); e.Linkname != "/etc/motd" {
		t.Errorf("/motd points to %q", e.Linkname)
	}
	check("etc/motd", tar.TypeReg, 0o644, 5, 0)
	check("etc", tar.TypeDir, 0o755, 0, 0)
}

// TestDynamicTool: the filter sees the calls of a dynamically linked
// program (coreutils' chown, through the C library) as it sees static
// busybox's: no LD_PRELOAD is involved.
func TestDynamicTool(t *testing.T) {
	sh := busybox(t)
	chown, err := exec.LookPath("chown")
	if err != nil || chown == path.Join(path.Dir(sh), "chown") {
		t.Skip("no chown besides busybox's on this machine")
	}
	if !dynamic(t, chown) {
		t.Skipf("%s is not dynamically linked", chown)
	}
	tr := newTree(t)
	if err := tr.Run(context.Background(), Options{Name: "fakeRootCommands", Script: "touch f && " + chown + " 4321:8765 f", Shell: sh}); err != nil {
		t.Fatal(err)
	}
	got, err := tr.Changes()
	if err != nil {
		t.Fatal(err)
	}
	if e := byName(got)["f"]; e.Uid != 4321 || e.Gid != 8765 {
		t.Errorf("/f is owned by %d:%d after %s, want 4321:8765", e.Uid, e.Gid, chown)
	}
}

// dynamic says whether the ELF program at p asks for an interpreter (the
// dynamic loader).
func dynamic(t *testing.T, p string) bool {
	f, err := elf.Open(p)
	if err != nil {
		t.Fatalf("reading %s: %v", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}

func names(es []layers.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

// TestChrootChanges runs a script with the tree as its root over a base
// (runAsRoot): only what it changed comes back, with whiteouts for what it
// deleted and an opaque marker where it replaced a directory.
func TestChrootChanges(t *testing.T) {
	sh := busybox(t)
	bin := path.Dir(sh)
	tr := newTree(t)
	base := []layers.Entry{
		layers.Dir("etc", 0o755), layers.File("etc/passwd", 0o644, []byte("root:x:0:0::/root:/bin/sh\n")),
		layers.File("etc/keep", 0o644, []byte("same\n")), layers.File("etc/gone", 0o644, nil),
		layers.Dir("var", 0o755), layers.Dir("var/cache", 0o755), layers.File("var/cache/old", 0o644, nil),
		layers.Dir("opt", 0o755), layers.Dir("opt/tree", 0o755), layers.File("opt/tree/x", 0o644, nil),
		{Name: "usr", Type: tar.TypeDir, Mode: 0o755, Uid: 7, Gid: 7}, {Name: "usr/owned", Type: tar.TypeReg, Mode: 0o4755, Uid: 7, Gid: 7},
		layers.Dir("srv", 0o755), layers.File("srv/x", 0o644, nil),
	}
	if err := tr.Add(base); err != nil {
		t.Fatal(err)
	}
	if err := tr.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Add([]layers.Entry{layers.File("hello", 0o644, []byte("from contents\n"))}); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"set -e",
		"echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd",
		"rm /etc/gone",
		"rm -r /var/cache && mkdir -p /var/cache/new",
		"rm -r /opt/tree",
		"mv /srv /moved && mkdir /srv", // renamed away, not removed: whiteouts in the new /srv
		"echo more >> /usr/owned",
		"mkdir -p /data && chown 1000:1000 /data",
		"test -w /tmp && echo scratch > /tmp/scratch",
		"test -e /dev/null && test -d /proc/self",
	}, "\n")
	err := tr.Run(context.Background(), Options{Name: "runAsRoot", Script: script, Shell: sh, Chroot: true, StoreDir: storeOf(t, bin)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.Changes()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"data", "etc", "etc/.wh.gone", "etc/passwd", "hello", "moved", "moved/x", "opt", "opt/.wh.tree",
		"srv", "srv/.wh.x", "usr", "usr/owned", "var", "var/cache", "var/cache/.wh..wh..opq", "var/cache/new"}
	if g := names(got); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Errorf("changes:\n got %v\nwant %v", g, want)
	}
	m := byName(got)
	if e := m["usr/owned"]; e.Uid != 7 || e.Mode != 0o4755 || content(t, e) != "more\n" {
		t.Errorf("/usr/owned: owner %d, mode %o, %q; want the base's owner and mode kept", e.Uid, e.Mode, content(t, e))
	}
	if e := m["data"]; e.Uid != 1000 || e.Gid != 1000 {
		t.Errorf("/data is owned by %d:%d, want 1000:1000", e.Uid, e.Gid)
	}
	if e := m["etc/passwd"]; !strings.Contains(content(t, e), "app:x:1000") {
		t.Errorf("/etc/passwd holds %q", content(t, e))
	}
	if _, err := os.Stat(tr.Dir() + bin); !os.IsNotExist(err) {
		t.Errorf("the mount point %s stays in the tree: %v", bin, err)
	}
}

// TestStoreNotADirectory: an image whose /nix is a file cannot take the
// store for a chrooted script, and says so.
func TestStoreNotADirectory(t *testing.T) {
	sh := busybox(t)
	tr := newTree(t)
	if err := tr.Add([]layers.Entry{layers.File("var", 0o644, nil)}); err != nil {
		t.Fatal(err)
	}
	err := tr.Run(context.Background(), Options{Name: "runAsRoot", Script: "true", Shell: sh, Chroot: true, StoreDir: storeOf(t, path.Dir(sh))})
	if err == nil || !strings.Contains(err.Error(), "runAsRoot: making a mount point for the script: /var in the image is not a directory") {
		t.Errorf("got %v", err)
	}
}

// TestFailures: what a bad script gets, each a clear error.
func TestFailures(t *testing.T) {
	sh := busybox(t)
	cases := []struct {
		name, script string
		shell        string
		chroot       bool
		want         []string
	}{
		{"exit status", "echo about to fail; exit 3", sh, false, []string{"fakeRootCommands exited with status 3", "about to fail"}},
		{"no shell", "true", "", false, []string{"needs a shell to run it: give `shell`"}},
		{"command not found", "useradd app", sh, false, []string{"status 127", "useradd: not found", "the script's PATH is " + path.Dir(sh), "by their store path"}},
		{"relative #!", "#!sh\ntrue", "", false, []string{`#! line, "sh", is not an absolute path`}},
		{"writes outside", "echo x > " + path.Dir(sh) + "/x", sh, false, []string{"exited with status", "Read-only file system", "only the image's root is writable"}},
		{"left running", "sleep 60 &", sh, false, []string{"left processes running", "which nixlayer killed", "must wait"}},
		{"killed", "kill -9 $$", sh, false, []string{"killed by killed"}},
		{"interpreter not in the image", "#!/nix/store/0000000000000000000000000000000-none/bin/sh\ntrue", "", true, []string{"no such file", "must be a store path the script names"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTree(t)
			store := ""
			if c.chroot {
				store = storeOf(t, path.Dir(sh))
			}
			err := tr.Run(context.Background(), Options{Name: "fakeRootCommands", Script: c.script, Shell: c.shell, Chroot: c.chroot, StoreDir: store})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestTreeRefuses: nothing is put through a symlink of the tree (a hostile
// base image), and a name that layers read as a whiteout is refused.
func TestTreeRefuses(t *testing.T) {
	outside := t.TempDir()
	tr := newTree(t)
	err := tr.Add([]layers.Entry{layers.Symlink("etc", outside), layers.File("etc/passwd", 0o644, []byte("x"))})
	if err == nil || !strings.Contains(err.Error(), "/etc in the image is a symlink, not a directory") {
		t.Errorf("a file under a symlink: %v", err)
	}
	if left, _ := os.ReadDir(outside); len(left) != 0 {
		t.Errorf("%s holds %v", outside, left)
	}
	tr = newTree(t)
	if err := tr.Run(context.Background(), Options{Name: "fakeRootCommands", Script: "touch .wh.x", Shell: busybox(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Changes(); err == nil || !strings.Contains(err.Error(), "mark deletions") {
		t.Errorf("a .wh. name: %v", err)
	}
}

// goldenLayer is the sha256 of the tar of what goldenScript makes: the
// capture does not depend on the machine, the inode numbers or the time.
const goldenLayer = "daf7b3dff136b019e724820f7676d6ce61af3a710c4ae9f2fedddd62d6bc50ea"

const goldenScript = `set -e
umask 022
mkdir -p home/alice dev etc srv/old
chown 1000:100 home/alice
mknod dev/null c 1 3
echo data > srv/a
ln srv/a srv/b
ln -s ../srv/a etc/link
mkfifo srv/fifo
printf 'root:x:0:0::/root:/bin/sh\n' > etc/passwd
chmod 0600 etc/passwd
rmdir srv/old`

// TestGoldenLayer: the same script gives the same layer, byte for byte,
// on every machine and every run.
func TestGoldenLayer(t *testing.T) {
	sh := busybox(t)
	sum := func() string {
		tr := newTree(t)
		if err := tr.Run(context.Background(), Options{Name: "fakeRootCommands", Script: goldenScript, Shell: sh}); err != nil {
			t.Fatal(err)
		}
		es, err := tr.Changes()
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		w := layers.NewWriter(h, time.Unix(1, 0))
		for _, e := range es {
			if err := w.WriteEntry(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	first, second := sum(), sum()
	if first != second {
		t.Fatalf("two runs gave %s and %s", first, second)
	}
	if first != goldenLayer {
		t.Errorf("layer sha256 %s, want %s", first, goldenLayer)
	}
}

// content is what a regular file's entry holds: its Data, or the file at
// its Source (what the script made, left in the tree).
func content(t *testing.T, e layers.Entry) string {
	t.Helper()
	if e.Source == "" {
		return string(e.Data)
	}
	b, err := os.ReadFile(e.Source)
	if err != nil {
		t.Fatalf("reading /%s: %v", e.Name, err)
	}
	if int64(len(b)) != e.Size {
		t.Errorf("/%s: %d bytes at %s, entry size %d", e.Name, len(b), e.Source, e.Size)
	}
	return string(b)
}

// runChanges runs script as fakeRootCommands (with the shell bb) over tr
// and returns what it changed.
func runChanges(t *testing.T, tr *Tree, script, bb string) []layers.Entry {
	t.Helper()
	if err := tr.Run(context.Background(), Options{Name: "fakeRootCommands", Script: script, Shell: bb}); err != nil {
		t.Fatal(err)
	}
	got, err := tr.Changes()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

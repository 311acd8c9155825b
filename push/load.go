package push

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/registry"
	"github.com/nixlayer/nixlayer/source"
)

// archiveTime stamps every entry of the archive a loader reads, as pull
// stamps the archives it writes.
var archiveTime = time.Unix(1, 0)

// maxLoaderOutput bounds what is kept of a loader's output.
const maxLoaderOutput = 64 << 10

// load streams the image at src into the program that loads it into d's
// daemon or store, once that place answers. When writing the archive
// fails, the program is killed before it reads the end of the archive,
// so it creates no image and no tag.
func load(ctx context.Context, src string, d Destination, o registry.Options) (*Pushed, error) {
	kind, err := source.Detect(src)
	if err != nil {
		return nil, err
	}
	dm := daemonFor(d)
	if kind == base.OCILayout && d.Ref == "" {
		return nil, fmt.Errorf("loading %s %q into %s: name the image to load, %s:NAME:TAG", kind, src, dm.what, d.Target)
	}
	if err := dm.reachable(ctx); err != nil {
		return nil, fmt.Errorf("loading %q into %s: %w", src, d, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := newCommand(ctx, dm.load)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out := &boundedBuffer{max: maxLoaderOutput}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loading %q into %s: running %s: %w", src, dm.what, dm.load[0], err)
	}
	w, werr := writeArchive(ctx, src, kind, d.Ref, dm.format, stdin, o)
	if werr != nil {
		cancel()
	}
	stdin.Close()
	err = cmd.Wait()
	if werr != nil {
		return nil, fmt.Errorf("loading %q into %s (nothing was loaded): %w", src, d, werr)
	}
	if err != nil {
		return nil, fmt.Errorf("loading %q into %s: %s: %w\n%s", src, d, strings.Join(dm.load, " "), err, out.String())
	}
	return dm.loaded(ctx, out.String(), w, o)
}

// newCommand is a command that runs in its own process group, all of which
// is killed when ctx is done or nixlayer dies.
func newCommand(ctx context.Context, argv []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// written is what writeArchive wrote: the image's name and manifest when
// it wrote an OCI archive (empty when it passed a stream on).
type written struct {
	name     string
	manifest v1.Descriptor
}

// writeArchive writes src to w as archive f (a docker-archive or an
// oci-archive) naming the image tag: a stream as it is when no tag is
// asked for and f is a docker-archive, else the image read by image/base
// (or the stream script) written by package format with the tag, or the
// tag the source gives it; from an index, the image of this machine's
// platform.
func writeArchive(ctx context.Context, src string, kind base.Format, tag string, f format.Format, w io.Writer, o registry.Options) (written, error) {
	if tag == "" && kind == base.Executable && f == format.DockerArchive {
		return written{}, source.Run(ctx, src, w)
	}
	s, err := openSource(ctx, src, o)
	if err != nil {
		return written{}, err
	}
	defer s.Close()
	if tag == "" {
		tag = s.Ref
	}
	if tag == "" {
		return written{}, fmt.Errorf("%s %q names no image: name the image to load, DEST:NAME:TAG", s.Format, src)
	}
	img, err := imageFor(s, hostPlatform())
	if err != nil {
		return written{}, fmt.Errorf("reading %s %q: %w", s.Format, src, err)
	}
	if f == format.DockerArchive {
		return written{}, writeV1(w, img, tag)
	}
	full, err := containerdName(tag)
	if err != nil {
		return written{}, fmt.Errorf("reading tag %q: %w", tag, err)
	}
	desc, err := partial.Descriptor(img)
	if err != nil {
		return written{}, fmt.Errorf("reading %s %q: %w", s.Format, src, err)
	}
	return written{name: full, manifest: *desc}, writeImage(w, f, img, full)
}

// writeV1 writes img as a docker-archive tagged ref ("name:tag") to w.
func writeV1(w io.Writer, img v1.Image, ref string) error {
	return writeImage(w, format.DockerArchive, img, ref)
}

// writeImage writes img as archive f to w: a docker-archive tagged ref
// (RepoTags), or an oci-archive whose index names it ref
// (io.containerd.image.name) with its tag as ref.name.
func writeImage(w io.Writer, f format.Format, img v1.Image, ref string) error {
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	man, err := img.RawManifest()
	if err != nil {
		return err
	}
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	repo, tag := registry.SplitReference(ref)
	fi := format.Image{Config: cfg, Manifest: man, Name: repo, Tag: tag}
	if f.OCI() {
		fi.IndexName = ref
	}
	return format.Stream(w, f, archiveTime, func(fw format.Writer) error {
		for i, l := range ls {
			d, err := partialDescriptor(l)
			if err != nil {
				return fmt.Errorf("layer %d: %w", i+1, err)
			}
			if err := fw.Blob(format.Blob{Desc: d, Open: l.Compressed}); err != nil {
				return fmt.Errorf("layer %d: %w", i+1, err)
			}
		}
		return fw.Image(fi)
	})
}

// partialDescriptor is the descriptor of layer l.
func partialDescriptor(l v1.Layer) (v1.Descriptor, error) {
	var d v1.Descriptor
	var err error
	if d.MediaType, err = l.MediaType(); err != nil {
		return d, err
	}
	if d.Digest, err = l.Digest(); err != nil {
		return d, err
	}
	d.Size, err = l.Size()
	return d, err
}

// loaded reads what the loader reported: the image it loaded and its ID.
// An OCI archive's name and manifest are known (w) and taken as they are.
func (dm daemon) loaded(ctx context.Context, out string, w written, o registry.Options) (*Pushed, error) {
	if o.Progress() != nil {
		fmt.Fprint(o.Progress(), out)
	}
	if w.name != "" {
		return &Pushed{Reference: w.name, Digest: w.manifest.Digest, Manifest: w.manifest}, nil
	}
	p := &Pushed{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		for _, prefix := range []string{"Loaded image: ", "Loaded image(s): "} {
			if ref, ok := strings.CutPrefix(line, prefix); ok {
				p.Reference = strings.TrimSpace(strings.Split(ref, ",")[0])
			}
		}
		if id, ok := strings.CutPrefix(line, "Loaded image ID: "); ok {
			p.Digest, _ = v1.NewHash(id)
		}
	}
	if p.Reference == "" && p.Digest == (v1.Hash{}) {
		return nil, fmt.Errorf("%s reported no image:\n%s", strings.Join(dm.load, " "), out)
	}
	if p.Reference != "" && p.Digest == (v1.Hash{}) && dm.inspectID != nil {
		argv := append(dm.inspectID[:len(dm.inspectID):len(dm.inspectID)], p.Reference)
		if id, err := newCommand(ctx, argv).Output(); err == nil {
			s := strings.TrimSpace(string(id))
			if !strings.Contains(s, ":") {
				s = "sha256:" + s
			}
			p.Digest, _ = v1.NewHash(s)
		}
	}
	return p, nil
}

// boundedBuffer keeps the first max bytes written to it and counts the rest.
type boundedBuffer struct {
	b       strings.Builder
	max     int
	dropped int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.max - b.b.Len(); room < len(p) {
		b.dropped += len(p) - max(room, 0)
		p = p[:max(room, 0)]
	}
	b.b.Write(p)
	return n, nil
}

func (b *boundedBuffer) String() string {
	if b.dropped > 0 {
		return fmt.Sprintf("%s\n(%d more bytes)", b.b.String(), b.dropped)
	}
	return b.b.String()
}

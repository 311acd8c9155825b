package push

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

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
// so it creates no image and no tag; an image record a failed containerd
// import created is removed.
func load(ctx context.Context, src string, d Destination, o registry.Options) (_ *Pushed, err error) {
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
	a, err := prepare(ctx, src, kind, d.Ref, dm, o)
	if err != nil {
		return nil, fmt.Errorf("loading %q into %s (nothing was loaded): %w", src, d, err)
	}
	defer a.close()
	if a.present > 0 && o.Progress() != nil {
		fmt.Fprintf(o.Progress(), "%s has %d of the %d layers of %s: they are not sent\n", dm.what, a.present, a.layers, a.name)
	}
	if dm.ctr != nil && !dm.ctr.exists(ctx, a.name) {
		defer func() {
			if err != nil {
				dm.ctr.remove(a.name)
			}
		}()
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
	werr := a.write(ctx, stdin)
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
	return dm.loaded(ctx, out.String(), a, o)
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

// archive is an image ready to be written for a loader.
type archive struct {
	// write writes the archive.
	write func(ctx context.Context, w io.Writer) error
	// name and manifest are the image's name and manifest in an OCI
	// archive (containerd); empty when the loader reports them.
	name     string
	manifest v1.Descriptor
	// layers is the number of layers; present, of those the place has
	// and that are left out.
	layers, present int
	close           func()
}

// prepare opens src for dm's loader (archive format dm.format) naming the
// image tag: a stream is passed on as it is when no tag is asked for and
// the loader reads a docker-archive; else the image is read by image/base
// (or the stream script) and written by package format with the tag, or
// the tag the source gives it; from an index, the image of this machine's
// platform. Into containerd, the layers its content store has are left
// out.
func prepare(ctx context.Context, src string, kind base.Format, tag string, dm daemon, o registry.Options) (*archive, error) {
	if tag == "" && kind == base.Executable && dm.format == format.DockerArchive {
		return &archive{write: func(ctx context.Context, w io.Writer) error { return source.Run(ctx, src, w) }, close: func() {}}, nil
	}
	s, err := openSource(ctx, src, o)
	if err != nil {
		return nil, err
	}
	a := &archive{close: func() { s.Close() }}
	if err := a.fill(ctx, s, src, tag, dm); err != nil {
		s.Close()
		return nil, err
	}
	return a, nil
}

// fill sets a to write the image of s tagged tag for dm.
func (a *archive) fill(ctx context.Context, s *source.Source, src, tag string, dm daemon) error {
	if tag == "" {
		tag = s.Ref
	}
	if tag == "" {
		return fmt.Errorf("%s %q names no image: name the image to load, DEST:NAME:TAG", s.Format, src)
	}
	img, err := imageFor(s, hostPlatform())
	if err != nil {
		return fmt.Errorf("reading %s %q: %w", s.Format, src, err)
	}
	if dm.format == format.DockerArchive {
		a.write = func(_ context.Context, w io.Writer) error { return writeImage(w, format.DockerArchive, img, tag, nil) }
		return nil
	}
	if a.name, err = containerdName(tag); err != nil {
		return fmt.Errorf("reading tag %q: %w", tag, err)
	}
	if a.manifest, err = ociManifestDescriptor(img); err != nil {
		return fmt.Errorf("reading %s %q: %w", s.Format, src, err)
	}
	var elsewhere map[v1.Hash]bool
	if dm.ctr != nil {
		ds, err := layerDigests(img)
		if err != nil {
			return fmt.Errorf("reading %s %q: %w", s.Format, src, err)
		}
		elsewhere = dm.ctr.has(ctx, ds)
		a.layers, a.present = len(ds), len(elsewhere)
	}
	a.write = func(_ context.Context, w io.Writer) error { return writeImage(w, dm.format, img, a.name, elsewhere) }
	return nil
}

// ociManifestDescriptor is the descriptor of img's manifest as an OCI
// archive holds it (a Docker manifest rewritten with OCI media types).
func ociManifestDescriptor(img v1.Image) (v1.Descriptor, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	oraw, mt, err := format.ManifestFor(format.OCIArchive, raw, m)
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, n, err := v1.SHA256(bytes.NewReader(oraw))
	return v1.Descriptor{MediaType: mt, Digest: h, Size: n}, err
}

// layerDigests lists the digests of img's layers.
func layerDigests(img v1.Image) ([]v1.Hash, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	var ds []v1.Hash
	for _, l := range m.Layers {
		ds = append(ds, l.Digest)
	}
	return ds, nil
}

// writeImage writes img as archive f to w: a docker-archive tagged ref
// (RepoTags), or an oci-archive whose index names it ref
// (io.containerd.image.name) with its tag as ref.name, leaving out the
// layers in elsewhere.
func writeImage(w io.Writer, f format.Format, img v1.Image, ref string, elsewhere map[v1.Hash]bool) error {
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
		fi.IndexName, fi.Elsewhere = ref, elsewhere
	}
	return format.Stream(w, f, archiveTime, func(fw format.Writer) error {
		for i, l := range ls {
			d, err := partialDescriptor(l)
			if err != nil {
				return fmt.Errorf("layer %d: %w", i+1, err)
			}
			if fi.Elsewhere[d.Digest] {
				continue
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
// An OCI archive's name and manifest are known (a) and taken as they are.
func (dm daemon) loaded(ctx context.Context, out string, a *archive, o registry.Options) (*Pushed, error) {
	if o.Progress() != nil {
		fmt.Fprint(o.Progress(), out)
	}
	if a.name != "" {
		return &Pushed{Reference: a.name + "@" + a.manifest.Digest.String(), Digest: a.manifest.Digest, Manifest: a.manifest}, nil
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

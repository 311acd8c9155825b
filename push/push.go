package push

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/mattn/go-isatty"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/source"

	"github.com/nixlayer/nixlayer/registry"
)

// DockerDaemon is the prefix of a Push destination that means `docker load`
// (docker-daemon:[NAME:TAG]).
const DockerDaemon = "docker-daemon:"

// Pushed is what Push did.
type Pushed struct {
	// Reference is the pushed image by digest (NAME@sha256:…), or the
	// image `docker load` reports it loaded.
	Reference string
	// Digest is the manifest digest of a pushed image, or the image ID
	// (config digest) of a loaded one.
	Digest v1.Hash
	// Manifest is the pushed manifest's (or index's) media type, digest
	// and size; zero for an image loaded into Docker.
	Manifest v1.Descriptor
}

// Push uploads the image at src (a docker-archive, an OCI layout or
// archive, or an executable that streams a docker-archive; see
// source.Detect) to dest, a registry reference NAME[:TAG], or loads it into
// Docker when dest is "docker-daemon:[NAME:TAG]". Only blobs the registry
// lacks are uploaded, several at once, transient failures are retried,
// and the manifest is put last, so a failed push leaves no image at dest
// and running it again finishes the job.
func Push(ctx context.Context, src, dest string, opts ...registry.Option) (*Pushed, error) {
	o := registry.NewOptions(opts...)
	if tag, ok := strings.CutPrefix(dest, DockerDaemon); ok {
		return loadDocker(ctx, src, tag, o)
	}
	ref, err := name.ParseReference(dest, o.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("reading destination %q: %w", dest, err)
	}
	s, err := openSource(ctx, src, o)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	kind := s.Format
	desc, err := descriptor(s)
	if err != nil {
		return nil, fmt.Errorf("reading %s %q: %w", kind, src, err)
	}
	ropts, err := o.RemoteOptions(ctx)
	if err != nil {
		return nil, err
	}
	var done func()
	if o.Progress() != nil {
		updates := make(chan v1.Update, 16)
		ropts = append(ropts, remote.WithProgress(updates))
		done = showProgress(o.Progress(), "pushing "+ref.String(), updates)
	}
	err = remote.Push(ref, taggable(s), ropts...)
	if done != nil {
		done()
	}
	if err != nil {
		return nil, fmt.Errorf("pushing %q to %q: %w", src, dest, err)
	}
	subject := v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
	return &Pushed{Reference: ref.Context().Digest(desc.Digest.String()).String(), Digest: desc.Digest, Manifest: subject}, nil
}

// loadDocker streams src into `docker load` as a docker-archive tagged
// tag (when given; else with the tag it has).
func loadDocker(ctx context.Context, src, tag string, o registry.Options) (_ *Pushed, err error) {
	kind, err := source.Detect(src)
	if err != nil {
		return nil, err
	}
	if kind == base.OCILayout && tag == "" {
		return nil, fmt.Errorf("loading %s %q into Docker: name the image to load, docker-daemon:NAME:TAG", kind, src)
	}
	cmd := exec.CommandContext(ctx, "docker", "load")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running docker load: %w", err)
	}
	werr := writeDockerArchive(ctx, src, kind, tag, stdin, o)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		if werr != nil {
			return nil, fmt.Errorf("loading %q into Docker: %w", src, werr)
		}
		return nil, fmt.Errorf("loading %q into Docker: docker load: %w\n%s", src, err, out.String())
	}
	if werr != nil {
		return nil, fmt.Errorf("loading %q into Docker: %w", src, werr)
	}
	return loaded(ctx, out.String(), o)
}

// loaded reads what docker load reported.
func loaded(ctx context.Context, out string, o registry.Options) (*Pushed, error) {
	p := &Pushed{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if ref, ok := strings.CutPrefix(sc.Text(), "Loaded image: "); ok {
			p.Reference = ref
		}
		if id, ok := strings.CutPrefix(sc.Text(), "Loaded image ID: "); ok {
			p.Digest, _ = v1.NewHash(id)
		}
	}
	if p.Reference == "" && p.Digest == (v1.Hash{}) {
		return nil, fmt.Errorf("docker load reported no image:\n%s", out)
	}
	if p.Reference != "" && p.Digest == (v1.Hash{}) {
		if id, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", p.Reference).Output(); err == nil {
			p.Digest, _ = v1.NewHash(strings.TrimSpace(string(id)))
		}
	}
	if o.Progress() != nil {
		fmt.Fprint(o.Progress(), out)
	}
	return p, nil
}

// writeDockerArchive writes src as a docker-archive to w: an uncompressed
// docker-archive file or a stream as it is when no tag is asked for, else
// the image read by image/base (or the stream script) written by package
// format with the tag, or the tag the source gives it.
func writeDockerArchive(ctx context.Context, src string, kind base.Format, tag string, w io.Writer, o registry.Options) error {
	if tag == "" && kind == base.Executable {
		return source.Run(ctx, src, w)
	}
	if tag != "" {
		if _, err := name.NewTag(tag); err != nil {
			return fmt.Errorf("reading destination tag %q: %w", tag, err)
		}
	}
	s, err := openSource(ctx, src, o)
	if err != nil {
		return err
	}
	defer s.Close()
	if tag == "" {
		tag = s.Ref
	}
	if tag == "" {
		return fmt.Errorf("%s %q names no image: name the image to load, docker-daemon:NAME:TAG", s.Format, src)
	}
	img, err := imageFor(s, hostPlatform())
	if err != nil {
		return fmt.Errorf("loading %s %q into Docker: %w", s.Format, src, err)
	}
	return writeV1(w, img, tag)
}

// showProgress reports updates to w until the channel closes, and returns
// a function that waits for that. On a terminal it redraws one bar;
// otherwise it prints a line at each quarter. A last line says it is done.
func showProgress(w io.Writer, label string, updates <-chan v1.Update) (wait func()) {
	term := isTerminal(w)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var last v1.Update
		var lastDraw time.Time
		nextQuarter := int64(1)
		for u := range updates {
			if u.Error != nil {
				continue
			}
			last = u
			if u.Total <= 0 {
				continue
			}
			if term {
				if time.Since(lastDraw) > 100*time.Millisecond || u.Complete == u.Total {
					fmt.Fprintf(w, "\r%s %s", label, bar(u))
					lastDraw = time.Now()
				}
				continue
			}
			for nextQuarter <= 4 && u.Complete*4 >= u.Total*nextQuarter {
				fmt.Fprintf(w, "%s: %s of %s (%d%%)\n", label, registry.HumanSize(u.Complete), registry.HumanSize(u.Total), nextQuarter*25)
				nextQuarter++
			}
		}
		if term && last.Total > 0 {
			fmt.Fprintln(w)
		}
		if last.Complete == 0 {
			fmt.Fprintf(w, "%s: done, nothing to upload\n", label)
		} else {
			fmt.Fprintf(w, "%s: done, %s uploaded\n", label, registry.HumanSize(last.Complete))
		}
	}()
	return func() { <-finished }
}

func bar(u v1.Update) string {
	const width = 30
	filled := int(u.Complete * width / u.Total)
	if filled > width {
		filled = width
	}
	return fmt.Sprintf("[%s%s] %s / %s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), registry.HumanSize(u.Complete), registry.HumanSize(u.Total))
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

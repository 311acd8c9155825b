package push

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/mattn/go-isatty"

	"github.com/nixlayer/nixlayer/registry"
)

// Pushed is what Push did.
type Pushed struct {
	// Reference is the pushed image by digest (NAME@sha256:…), the
	// image `docker load` or `podman load` reports it loaded, or the name
	// containerd has it under with its manifest digest (NAME:TAG@sha256:…).
	Reference string
	// Digest is the manifest digest of a pushed image (a registry,
	// containerd), or the image ID (config digest) of one loaded into
	// Docker or podman.
	Digest v1.Hash
	// Manifest is the pushed manifest's (or index's) media type, digest
	// and size; zero for an image loaded into Docker or podman.
	Manifest v1.Descriptor
}

// Push uploads the image at src (a docker-archive, an OCI layout or
// archive, or an executable that streams a docker-archive; see
// source.Detect) to dest, read by ParseDestination: a registry reference,
// or docker-daemon:, containers-storage: (podman) or containerd: with an
// optional NAME:TAG. See PushTo.
func Push(ctx context.Context, src, dest string, opts ...registry.Option) (*Pushed, error) {
	d, err := ParseDestination(dest)
	if err != nil {
		return nil, err
	}
	return PushTo(ctx, src, d, opts...)
}

// PushTo puts the image at src at d. To a registry, only blobs the
// registry lacks are uploaded, several at once, transient failures are
// retried, and the manifest is put last, so a failed push leaves no image
// at dest and running it again finishes the job. Into Docker, podman or
// containerd, the image is streamed into the program that loads it (see
// load) after the place was found to answer; a failure kills that program
// before it commits, so no image or tag is created.
func PushTo(ctx context.Context, src string, d Destination, opts ...registry.Option) (*Pushed, error) {
	o := registry.NewOptions(opts...)
	if d.Target != Registry {
		return load(ctx, src, d, o)
	}
	dest := d.Ref
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

// Package push puts an image where it is run: Push uploads a
// docker-archive, an OCI layout or archive, or the stream of a
// streamLayeredImage script to a registry, or streams it into `docker
// load`, `podman load` or containerd's `ctr images import`. The
// destinations are read in one place (ParseDestination, dest.go), the
// loaders described in daemon.go and containerd.go and run by load.go.
// AttachSBOM and Attach push documents (the SBOMs an image carries) as
// OCI 1.1 referrers of the pushed manifest; WriteApp writes the apps of
// copyToRegistry, copyToDockerDaemon, copyToPodman and copyTo
// (nix/push.nix), whose builder is nixlayer itself.
//
// Push reads through image/base (the one reader of foreign images), which
// streams blobs out of the archive within its limits and extracts nothing,
// checking each against its digest and its config's diffID as it passes:
// a layer that is not what the image says fails the push before the
// manifest is put or the loader's archive ends.
// A nixlayer stream script is read in process; another executable is run
// by its absolute path, never looked up in $PATH, and its docker-archive
// spooled to a temporary file (source.go says more). A loader runs only
// once its place answers, in a process group of its own that is killed
// with all it started when the archive fails or the push is cancelled,
// before the loader commits an image. It talks to registries through
// package registry (timeouts, retry, auth), as pull does; it imports
// nothing of pull.
package push

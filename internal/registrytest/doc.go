// Package registrytest runs a real registry for tests: Debian's
// docker-registry binary (github.com/docker/distribution) on a free
// 127.0.0.1 port with its own temporary config and storage, and a reverse
// proxy in front of any registry that injects faults (error statuses,
// connections cut mid-body, corrupted bytes) into chosen requests.
//
// It also holds what the tests of pull and push share (images.go): fixed
// and random test images, go-containerregistry's in-process registry
// behind a Proxy, and uploading an image to it.
package registrytest

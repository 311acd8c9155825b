// Package registrytest runs a real registry for tests: Debian's
// docker-registry binary (github.com/docker/distribution) on a free
// 127.0.0.1 port with its own temporary config and storage, and a reverse
// proxy in front of any registry that injects faults (error statuses,
// connections cut mid-body, corrupted bytes, bodies that trickle, endless
// indexes, requests never answered) into chosen requests.
package registrytest

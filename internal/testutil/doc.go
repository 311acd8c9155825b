// Package testutil holds what the end-to-end tests share: building the
// nixlayer binary once, running Nix offline, and finding the real tools
// (skopeo, umoci, docker) the tests check images with.
package testutil

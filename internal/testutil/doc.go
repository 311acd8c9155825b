// Package testutil holds what the end-to-end tests share: building the
// nixlayer binary once, running Nix offline, and finding the real tools
// (skopeo, umoci, docker) the tests check images with; unit tests take
// from it the reading back of what they wrote (LayoutIndex).
package testutil

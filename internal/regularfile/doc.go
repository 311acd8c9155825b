// Package regularfile opens and reads files that must be regular files:
// what nixlayer reads from places an image or a base image controls. A
// FIFO does not block the open (O_NONBLOCK), anything but a regular file
// is refused with an error naming what it is, and reads are bounded.
// OpenInside opens a file inside a directory without following a symlink
// anywhere below it (openat, O_NOFOLLOW, one directory at a time).
package regularfile

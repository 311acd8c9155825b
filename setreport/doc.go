// Package setreport describes a set of images (nl.buildImageSet) by their
// layer blobs: the bytes of the set's unique blobs against the bytes each
// image would store alone, how many layers each image has, and which
// layers each pair of images shares. It reads images through package
// source (stream scripts by their recipe: nothing is produced).
package setreport

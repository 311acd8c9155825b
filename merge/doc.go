// Package merge is mergeImages (nixlayer merge-images): one docker-archive
// holding every image of several docker-archives, OCI layouts and archives
// and stream scripts, each opened through package source's detection, so
// that `docker load` loads them all; each blob is written once.
package merge

// Package stream is streamLayeredImage's output: a stream script, the file
// "#!<nixlayer> stream" followed by the recipe of every layer with its
// digests (package wire's Script). Running it makes `nixlayer stream`
// produce the docker-archive from the store as it is written (Stream), or
// gives the image in process without writing it (Image, for push and
// indexes), or as its recipe says without producing a layer (Recipe, for
// inspect). Describe computes the digests a script records; WriteScript
// and ReadScript are its on-disk form. It imports no builder: reading a
// script needs no SQLite and no root-script supervisor.
package stream

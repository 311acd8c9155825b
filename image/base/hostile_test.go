package base

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// openIndex opens path and builds its index.
func openIndex(t *testing.T, path string, opts ...Option) (*Index, error) {
	t.Helper()
	img, err := Open(path, opts...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { img.Close() })
	return img.Index()
}

// TestHostileLayers feeds crafted layers and checks the error or the
// documented behaviour for each.
func TestHostileLayers(t *testing.T) {
	cases := []struct {
		name   string
		layers [][]byte
		err    error  // wanted error class, or nil
		msg    string // substring of the error
		want   []string
	}{
		{name: "dotdot name", layers: [][]byte{tarOf(t, reg("a/../../etc/passwd", "x"))}, err: ErrUnsafe, msg: `"a/../../etc/passwd" leaves the root`},
		{name: "absolute name", layers: [][]byte{tarOf(t, reg("/etc/passwd", "x"))}, err: ErrUnsafe, msg: `"/etc/passwd" is absolute`},
		{name: "symlink then write through it, relative escape clamped at root",
			layers: [][]byte{tarOf(t, sym("evil", "../../../../tmp")), tarOf(t, reg("evil/passwd", "pwn"))},
			want:   []string{"evil 2 777 -> ../../../../tmp", "tmp 5 755", "tmp/passwd 0 644 3"}},
		{name: "absolute symlink written through stays in the tree",
			layers: [][]byte{tarOf(t, sym("etc", "/host/etc"), reg("etc/shadow", "x"))},
			want:   []string{"etc 2 777 -> /host/etc", "host 5 755", "host/etc 5 755", "host/etc/shadow 0 644 1"}},
		{name: "symlink loop", layers: [][]byte{tarOf(t, sym("a", "b"), sym("b", "a"), reg("a/x", "x"))}, err: ErrUnsafe, msg: "more than 40 symlinks"},
		{name: "parent is a file", layers: [][]byte{tarOf(t, reg("f", "x"), reg("f/g", "y"))}, err: errNotDir, msg: `"f" is a file`},
		{name: "hard link outside", layers: [][]byte{tarOf(t, hard("h", "../../etc/passwd"))}, err: ErrUnsafe, msg: "leaves the root"},
		{name: "hard link absolute", layers: [][]byte{tarOf(t, hard("h", "/etc/passwd"))}, err: ErrUnsafe, msg: "is absolute"},
		{name: "hard link to missing entry", layers: [][]byte{tarOf(t, hard("h", "nothere"))}, err: ErrUnsafe, msg: `hard link to "nothere", which does not exist`},
		{name: "hard link to directory", layers: [][]byte{tarOf(t, dir("d/"), hard("h", "d"))}, err: ErrUnsafe, msg: "a directory"},
		{name: "hard link through a symlink out of the tree is resolved inside",
			layers: [][]byte{tarOf(t, sym("up", "../.."), reg("f", "data"), hard("h", "up/f"))},
			want:   []string{"f 0 644 4", "h 0 644 4", "up 2 777 -> ../.."}},
		{name: "hard link to a lower layer's file is a copy",
			layers: [][]byte{tarOf(t, regMode("f", "data", 0o700)), tarOf(t, hard("g", "f"))},
			want:   []string{"f 0 700 4", "g 0 700 4"}},
		{name: "duplicate file: last wins", layers: [][]byte{tarOf(t, reg("f", "first"), reg("f", "second!"))}, want: []string{"f 0 644 7"}},
		{name: "duplicate dir then file: file replaces the tree",
			layers: [][]byte{tarOf(t, dir("d/"), reg("d/x", "x"), reg("d", "file"))}, want: []string{"d 0 644 4"}},
		{name: "duplicate dirs merge",
			layers: [][]byte{tarOf(t, dir("d/"), reg("d/x", "x"), ent{hdr: tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o700}})},
			want:   []string{"d 5 700", "d/x 0 644 1"}},
		{name: "devices and fifos are skipped",
			layers: [][]byte{tarOf(t, dir("dev/"), special("dev/null", tar.TypeChar), special("dev/sda", tar.TypeBlock), special("fifo", tar.TypeFifo))},
			want:   []string{"dev 5 755"}},
		{name: "root entry and ./ prefixes", layers: [][]byte{tarOf(t, dir("./"), reg("./a//b", "x"))}, want: []string{"a 5 755", "a/b 0 644 1"}},
		{name: "unsupported type", layers: [][]byte{tarOf(t, ent{hdr: tar.Header{Name: "v", Typeflag: 'V'}})}, err: ErrFormat, msg: "unsupported type"},
		{name: "long name", layers: [][]byte{tarOf(t, reg(strings.Repeat("a/", 2100)+"f", "x"))}, err: ErrLimit, msg: "over 4096"},
		{name: "empty whiteout", layers: [][]byte{tarOf(t, reg("a", "x")), tarOf(t, reg(".wh.", ""))}, err: ErrUnsafe, msg: "names no file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, err := openIndex(t, file(t, layersOf(c.layers...).docker(t)))
			if c.err != nil {
				if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("err = %v, want %v containing %q", err, c.err, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(x); !slices.Equal(got, c.want) {
				t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestSkippedSpecialFiles(t *testing.T) {
	x, err := openIndex(t, file(t, layersOf(tarOf(t, special("dev/null", tar.TypeChar), special("p", tar.TypeFifo))).docker(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"layer 0: dev/null (type '3')", "layer 0: p (type '6')"}
	if got := x.Skipped(); !slices.Equal(got, want) {
		t.Errorf("Skipped() = %q, want %q", got, want)
	}
}

// gnuSparse returns a tar holding one old-GNU sparse entry "huge" whose
// real size is 1 TiB but which stores 512 bytes.
func gnuSparse(t testing.TB) []byte {
	t.Helper()
	h := make([]byte, 512)
	copy(h, "huge")
	octal := func(off, n int, v int64) { copy(h[off:off+n], fmt.Sprintf("%0*o\x00", n-1, v)) }
	octal(100, 8, 0o644)
	octal(108, 8, 0)
	octal(116, 8, 0)
	octal(124, 12, 512) // stored size
	octal(136, 12, 0)
	h[156] = 'S'
	copy(h[257:], "ustar  \x00")
	octal(386, 12, 0)   // sparse[0].offset
	octal(398, 12, 512) // sparse[0].numbytes
	octal(483, 12, 1<<40)
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	var sum int64
	for _, b := range h {
		sum += int64(b)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	out := append(h, bytes.Repeat([]byte{'x'}, 512)...)
	return append(out, make([]byte, 1024)...)
}

func TestTarBombs(t *testing.T) {
	zeros := make([]byte, 8<<20)
	bigTar := tarOf(t, reg("zeros", string(zeros)))
	bomb := compressWith(t, gzipped, bigTar)
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb is not compressed well: %d bytes", len(bomb))
	}
	lim := WithLimits(Limits{MaxBytes: 1 << 20})
	many := make([]ent, 0, 50)
	for i := range 50 {
		many = append(many, reg("f"+strconv.Itoa(i), ""))
	}
	cases := []struct {
		name string
		path func(t *testing.T) string
		opt  Option
		msg  string
	}{
		{"highly compressed layer", func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{bomb}, tars: [][]byte{bigTar}}.docker(t))
		}, lim, "exceeds 1048576 bytes"},
		{"sparse entry of 1 TiB", func(t *testing.T) string { return file(t, layersOf(gnuSparse(t)).docker(t)) }, nil, "exceeds 17179869184 bytes"},
		{"compressed archive file", func(t *testing.T) string {
			return file(t, compressWith(t, gzipped, layersOf(bigTar).docker(t)))
		}, lim, "decompressed image"},
		{"too many entries", func(t *testing.T) string { return file(t, layersOf(tarOf(t, many...)).docker(t)) }, WithLimits(Limits{MaxEntries: 20}), "more than 20 entries"},
		{"names over the budget", func(t *testing.T) string { return file(t, layersOf(tarOf(t, many...)).docker(t)) }, WithLimits(Limits{MaxNameBytes: 64}), "names"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []Option
			if c.opt != nil {
				opts = append(opts, c.opt)
			}
			start := time.Now()
			_, err := openIndex(t, c.path(t), opts...)
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want ErrLimit containing %q", err, c.msg)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// xzWithDict returns an xz file whose block header asks for a dictionary
// of code (40 = 4 GiB), its CRC fixed.
func xzWithDict(t testing.TB, b []byte, code byte) []byte {
	t.Helper()
	x := compressWith(t, xzed, b)
	hs := (int(x[12]) + 1) * 4
	hdr := x[12 : 12+hs]
	// flags, then (no sizes in our writer's header?) filter id 0x21, size 1, props
	i := bytes.Index(hdr[2:], []byte{0x21, 0x01})
	if i < 0 {
		t.Fatalf("no LZMA2 filter in block header % x", hdr)
	}
	hdr[2+i+2] = code
	crc := crc32.ChecksumIEEE(hdr[:hs-4])
	hdr[hs-4], hdr[hs-3], hdr[hs-2], hdr[hs-1] = byte(crc), byte(crc>>8), byte(crc>>16), byte(crc>>24)
	return x
}

func TestCorruptStreams(t *testing.T) {
	ls := sampleLayers(t)
	gzLayer := compressWith(t, gzipped, ls[0])
	zstLayer := compressWith(t, zstded, ls[0])
	archive := layersOf(ls...).docker(t)
	flip := func(b []byte, at int) []byte { c := slices.Clone(b); c[at] ^= 0xff; return c }
	cases := []struct {
		name string
		path func(t *testing.T) string
		err  error
		msg  string
	}{
		{"truncated gzip layer", func(t *testing.T) string {
			l := gzLayer[:len(gzLayer)/2]
			return file(t, spec{layers: [][]byte{l}, tars: [][]byte{ls[0]}}.docker(t))
		}, nil, "unexpected EOF"},
		{"corrupt gzip layer", func(t *testing.T) string {
			l := flip(gzLayer, len(gzLayer)-6)
			return file(t, spec{layers: [][]byte{l}, tars: [][]byte{ls[0]}}.docker(t))
		}, nil, "gzip: invalid checksum"},
		{"truncated zstd layer", func(t *testing.T) string {
			return file(t, spec{layers: [][]byte{zstLayer[:len(zstLayer)-10]}, tars: [][]byte{ls[0]}}.docker(t))
		}, nil, "layer 0"},
		{"truncated gzip archive", func(t *testing.T) string { g := compressWith(t, gzipped, archive); return file(t, g[:len(g)/2]) }, nil, "unexpected EOF"},
		{"corrupt zstd archive", func(t *testing.T) string { z := compressWith(t, zstded, archive); return file(t, flip(z, len(z)/2)) }, nil, "zstd"},
		{"truncated xz archive", func(t *testing.T) string { x := compressWith(t, xzed, archive); return file(t, x[:len(x)-30]) }, nil, "xz"},
		{"xz archive asking for a 4 GiB dictionary", func(t *testing.T) string { return file(t, xzWithDict(t, archive, 40)) }, ErrLimit, "xz dictionary"},
		{"diffID mismatch", func(t *testing.T) string {
			return file(t, spec{layers: ls, diffIDs: []v1.Hash{sha(ls[0]), sha([]byte("other"))}}.docker(t))
		}, ErrDigest, "layer 1"},
		{"too few diffIDs", func(t *testing.T) string { return file(t, spec{layers: ls, diffIDs: []v1.Hash{sha(ls[0])}}.docker(t)) }, ErrFormat, "1 rootfs.diff_ids for 2 layers"},
		{"manifest names a missing layer", func(t *testing.T) string {
			return file(t, spec{layers: ls, drop: map[string]bool{sha(ls[1]).Hex + "/layer.tar": true}}.docker(t))
		}, ErrMissing, "Layers[1]"},
		{"manifest names a path out of the archive", func(t *testing.T) string {
			mb := fmt.Sprintf(`[{"Config":"c.json","RepoTags":null,"Layers":["../../etc/passwd"]}]`)
			return file(t, tarOf(t, reg("manifest.json", mb), reg("c.json", "{}")))
		}, ErrUnsafe, "leaves the archive"},
		{"archive symlink out of the archive", func(t *testing.T) string {
			mb := `[{"Config":"c.json","RepoTags":null,"Layers":["l/layer.tar"]}]`
			return file(t, tarOf(t, reg("manifest.json", mb), reg("c.json", "{}"), sym("l/layer.tar", "../../../etc/passwd")))
		}, ErrMissing, "not in the archive"},
		{"duplicate archive entry", func(t *testing.T) string {
			return file(t, spec{layers: ls, raw: []ent{reg("manifest.json", "[]")}}.docker(t))
		}, ErrUnsafe, "occurs twice"},
		{"oci index names a missing manifest", func(t *testing.T) string {
			var idx v1.IndexManifest
			json.Unmarshal(spec{layers: ls}.ociFiles(t).data["index.json"], &idx)
			return file(t, spec{layers: ls, drop: map[string]bool{blobName(idx.Manifests[0].Digest): true}}.ociArchive(t))
		}, ErrMissing, "manifest"},
		{"oci manifest names a missing layer blob", func(t *testing.T) string {
			return spec{layers: ls, drop: map[string]bool{blobName(sha(ls[1])): true}}.ociDir(t)
		}, ErrMissing, sha(ls[1]).String()},
		{"oci layer blob altered, same size", func(t *testing.T) string {
			d := spec{layers: ls}.ociDir(t)
			p := d + "/" + blobName(sha(ls[0]))
			os.WriteFile(p, flip(ls[0], bytes.Index(ls[0], []byte("127.0.0.1"))), 0o644)
			return d
		}, ErrDigest, "layer 0"},
		{"oci config altered", func(t *testing.T) string {
			s := spec{layers: ls}
			cfg := s.configBytes(t)
			d := s.ociDir(t)
			os.WriteFile(d+"/"+blobName(sha(cfg)), append(cfg[:len(cfg)-1], ' ', '}'), 0o644)
			return d
		}, ErrDigest, "config blob"},
		{"oci blob symlink out of the layout", func(t *testing.T) string {
			d := spec{layers: ls}.ociDir(t)
			p := d + "/" + blobName(sha(ls[0]))
			os.Remove(p)
			os.Symlink("/etc/passwd", p)
			return d
		}, nil, "escapes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := openIndex(t, c.path(t))
			if err == nil {
				t.Fatal("no error")
			}
			if c.err != nil && !errors.Is(err, c.err) {
				t.Errorf("err = %v, want %v", err, c.err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err = %v, want it to contain %q", err, c.msg)
			}
		})
	}
}

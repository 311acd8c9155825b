package layers

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchTree writes a fixed tree of files of text-like, compressible bytes
// (about 3:1 with gzip, like binaries and sources) and returns its entries
// and total file size.
func benchTree(b *testing.B, files, size int) ([]Entry, int64) {
	b.Helper()
	dir := b.TempDir()
	words := strings.Fields("nix store layer image tar gzip zstd sha256 docker oci manifest config " +
		"closure path reference busybox hello runtime syscall encoding compile link \x00\x01\x7f\xff")
	rng := rand.New(rand.NewSource(1))
	var total int64
	for i := 0; i < files; i++ {
		var sb strings.Builder
		for sb.Len() < size {
			if rng.Intn(4) == 0 {
				fmt.Fprintf(&sb, "%08x", rng.Uint32())
			}
			sb.WriteString(words[rng.Intn(len(words))])
			sb.WriteByte(' ')
		}
		p := filepath.Join(dir, fmt.Sprintf("f%04d", i))
		if err := os.WriteFile(p, []byte(sb.String()[:size]), 0o444); err != nil {
			b.Fatal(err)
		}
		total += int64(size)
	}
	entries, err := Tree(dir, "nix/store/00000000000000000000000000000000-bench")
	if err != nil {
		b.Fatal(err)
	}
	return entries, total
}

// sha256Floor times one sha256 over the entries' file bytes, read from
// disk: the least any layer writer must do.
func sha256Floor(b *testing.B, entries []Entry) time.Duration {
	b.Helper()
	buf := make([]byte, 1<<20)
	start := time.Now()
	h := sha256.New()
	for _, e := range entries {
		if e.Source == "" {
			continue
		}
		f, err := os.Open(e.Source)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(h, f, buf); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	h.Sum(nil)
	return time.Since(start)
}

// BenchmarkWrite writes one 32 MiB layer with each compression and reports
// its time as a ratio to the sha256 floor measured in the same run
// ("x-sha256"), besides MB/s.
func BenchmarkWrite(b *testing.B) {
	entries, total := benchTree(b, 128, 256<<10)
	for _, c := range []Compression{None, Gzip, Zstd} {
		b.Run(string(c), func(b *testing.B) {
			b.SetBytes(total)
			var floor time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				floor += sha256Floor(b, entries)
				b.StartTimer()
				if _, err := WriteFunc(context.Background(), io.Discard, Entries(entries), Options{MTime: time.Unix(1, 0), Compression: c}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed())/float64(floor), "x-sha256")
		})
	}
}

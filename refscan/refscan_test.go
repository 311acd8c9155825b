package refscan

import (
	"bytes"
	"io"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"
)

const (
	hello = "/nix/store/0c2dxyz4k3j1ni3lamh5qiqfyr3zzq6m-hello-2.12"
	glibc = "/nix/store/9ldx0vcrp9hlmh7nqzq2v2ah0a1i9d0b-glibc-2.38"
)

func TestScanner(t *testing.T) {
	hh, gh := hello[11:43], glibc[11:43]
	for _, tc := range []struct {
		name   string
		writes []string // "" between two parts is a Next
		want   []string
	}{
		{"none", []string{"nothing here"}, nil},
		{"whole path", []string{"exec " + hello + "/bin/hello\n"}, []string{hello}},
		{"hash part alone", []string{"x" + hh + "x"}, []string{hello}},
		{"both", []string{gh + ":" + hh}, []string{hello, glibc}},
		{"split across writes", []string{"ab" + hh[:5], hh[5:] + "cd"}, []string{hello}},
		{"split byte by byte", strings.Split("ab"+hh+"cd", ""), []string{hello}},
		{"not joined across Next", []string{"ab" + hh[:5], "", hh[5:]}, nil},
		{"a char outside the alphabet", []string{hh[:10] + "e" + hh[11:]}, nil},
		{"prefix of a longer run", []string{"0" + hh}, []string{hello}},
		{"too short", []string{hh[:31]}, nil},
		{"after binary bytes", []string{strings.Repeat("\x00\xff", 1000) + "a" + hh + "\x00"}, []string{hello}},
		{"at the end of a long buffer", []string{strings.Repeat("z", 100000) + hh}, []string{hello}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New([]string{hello, glibc})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.writes {
				if w == "" {
					s.Next()
					continue
				}
				s.WriteString(w)
			}
			if got := s.Found(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Found() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	for _, p := range []string{"/nix/store/short-x", "/nix/store/" + strings.Repeat("e", 32) + "-x", "/nix/store/" + strings.Repeat("a", 33)} {
		if _, err := New([]string{p}); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("New(%q) = %v, want an error naming it", p, err)
		}
	}
}

// TestAgainstNaive compares the Scanner, fed in random pieces, with a
// plain search of every window, over random bytes drawn mostly from the
// alphabet with hash parts planted.
func TestAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	var cands []string
	for i := 0; i < 50; i++ {
		h := make([]byte, HashLen)
		for j := range h {
			h[j] = nix32[r.Intn(32)]
		}
		cands = append(cands, "/nix/store/"+string(h)+"-p")
	}
	for round := 0; round < 300; round++ {
		var buf []byte
		for len(buf) < 2000 {
			switch r.Intn(4) {
			case 0:
				buf = append(buf, cands[r.Intn(len(cands))][11:11+HashLen-r.Intn(2)]...)
			case 1:
				buf = append(buf, byte(r.Intn(256)))
			default:
				buf = append(buf, nix32[r.Intn(32)])
			}
		}
		want := map[string]bool{}
		for _, c := range cands {
			if bytes.Contains(buf, []byte(c[11:11+HashLen])) {
				want[c] = true
			}
		}
		s, _ := New(cands)
		for rest := buf; len(rest) > 0; {
			n := min(len(rest), 1+r.Intn(100))
			s.Write(rest[:n])
			rest = rest[n:]
		}
		got := map[string]bool{}
		for _, p := range s.Found() {
			got[p] = true
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: found %d paths, a plain search %d", round, len(got), len(want))
		}
	}
}

// TestDoneSkips checks that a Scanner with nothing left to find reads
// nothing more, and that the hash parts are matched exactly (the found
// candidate is not found again).
func TestDoneSkips(t *testing.T) {
	s, _ := New([]string{hello})
	io.Copy(s, bytes.NewReader([]byte(hello+hello)))
	if !s.Done() || len(s.Found()) != 1 {
		t.Fatalf("Done() = %v, Found() = %v", s.Done(), s.Found())
	}
}

// BenchmarkScan scans text against 1000 candidates: words of nix32
// characters (most windows skip) and, the worst case, nothing but nix32
// characters (a lookup at every byte).
func BenchmarkScan(b *testing.B) {
	var cands []string
	for i := 0; i < 1000; i++ {
		h := []byte(strings.Repeat("0", 32))
		for j, k := 0, i; j < 4; j, k = j+1, k/32 {
			h[31-j] = nix32[k%32]
		}
		cands = append(cands, "/nix/store/"+string(h)+"-p")
	}
	for _, bc := range []struct{ name, unit string }{{"words", "abcdfghijklmnpqr sv"}, {"nix32", nix32}} {
		buf := bytes.Repeat([]byte(bc.unit), 16<<20/len(bc.unit))
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for i := 0; i < b.N; i++ {
				s, _ := New(cands)
				s.Write(buf)
			}
		})
	}
}

// FuzzScanner checks the Scanner, fed data in two writes split at any
// point, against a plain search of every window.
func FuzzScanner(f *testing.F) {
	cands := []string{hello, glibc}
	f.Add([]byte("x"+hello+"y"), uint16(5))
	f.Add([]byte(glibc[11:43]+"\x00"+hello[11:40]), uint16(40))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		s, _ := New(cands)
		cut := int(split) % (len(data) + 1)
		s.Write(data[:cut])
		s.Write(data[cut:])
		var want []string
		for _, c := range cands {
			if bytes.Contains(data, []byte(c[11:11+HashLen])) {
				want = append(want, c)
			}
		}
		sort.Strings(want)
		if got := s.Found(); !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Fatalf("found %q, a plain search %q", got, want)
		}
	})
}

package refscan

import (
	"fmt"
	"path"
	"sort"
)

// HashLen is the length of a store path's hash part (nix32 of 160 bits).
const HashLen = 32

// nix32 is Nix's base-32 alphabet (no e, o, u, t).
const nix32 = "0123456789abcdfghijklmnpqrsvwxyz"

var isNix32, nix32Val = func() (is [256]bool, val [256]byte) {
	for i := 0; i < len(nix32); i++ {
		is[nix32[i]], val[nix32[i]] = true, byte(i)
	}
	return is, val
}()

// Scanner is an io.Writer that records which of its candidate store paths'
// hash parts the bytes written to it contain. Bytes are scanned as they
// come, each once, with no more memory than the candidates and HashLen-1
// bytes carried from one Write to the next, so a hash part split across
// two writes is found. Next starts a new stream (a new file), so that the
// end of one and the start of another never make a match.
type Scanner struct {
	want map[[HashLen]byte]string // hash part → store path, not found yet
	// filter has a bit set for the first four characters of each
	// candidate's hash part (prefixKey), so that most windows need no
	// lookup.
	filter *[1 << 20 / 64]uint64
	found  []string
	tail   []byte // the last bytes of the stream, at most HashLen-1
	joint  []byte // tail plus the head of the next write
}

// New returns a Scanner for the store paths candidates
// (/nix/store/<hash>-<name>). A path whose base name does not start with a
// hash part is an error naming it.
func New(candidates []string) (*Scanner, error) {
	s := &Scanner{want: make(map[[HashLen]byte]string, len(candidates)), filter: new([1 << 20 / 64]uint64), joint: make([]byte, 0, 2*HashLen)}
	for _, p := range candidates {
		base := path.Base(p)
		if len(base) < HashLen || (len(base) > HashLen && base[HashLen] != '-') || !allNix32(base[:HashLen]) {
			return nil, fmt.Errorf("store path %q has no hash part to scan for", p)
		}
		var h [HashLen]byte
		copy(h[:], base)
		s.want[h] = p
		key := prefixKey(h[:])
		s.filter[key/64] |= 1 << (key % 64)
	}
	return s, nil
}

func allNix32(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNix32[s[i]] {
			return false
		}
	}
	return true
}

// Write scans p. It never fails.
func (s *Scanner) Write(p []byte) (int, error) {
	if len(s.want) == 0 {
		return len(p), nil
	}
	if len(s.tail) > 0 {
		head := p
		if len(head) > HashLen-1 {
			head = head[:HashLen-1]
		}
		s.joint = append(append(s.joint[:0], s.tail...), head...)
		s.search(s.joint, len(s.tail))
	}
	s.search(p, len(p))
	if len(p) >= HashLen-1 {
		s.tail = append(s.tail[:0], p[len(p)-(HashLen-1):]...)
	} else {
		s.tail = append(s.tail, p...)
		if n := len(s.tail); n > HashLen-1 {
			s.tail = append(s.tail[:0], s.tail[n-(HashLen-1):]...)
		}
	}
	return len(p), nil
}

// WriteString scans str.
func (s *Scanner) WriteString(str string) (int, error) { return s.Write([]byte(str)) }

// Next ends the current stream: what is written next is not joined to it.
func (s *Scanner) Next() { s.tail = s.tail[:0] }

// Done reports whether every candidate has been found (writing more
// changes nothing).
func (s *Scanner) Done() bool { return len(s.want) == 0 }

// search looks for hash parts in b that start before limit, in one pass
// that counts the run of alphabet bytes, skipping HashLen bytes at a time
// where a run cannot start (Nix's scanner checks each window from its
// end, which skips as fast over binary data but checks a long run of
// alphabet bytes HashLen times). A window of HashLen alphabet bytes goes
// through a filter on its first four characters before the lookup.
func (s *Scanner) search(b []byte, limit int) {
	end := min(len(b), limit+HashLen-1)
	run := 0
	for k := 0; k < end; k++ {
		if run == 0 {
			// No window starting at k to k+HashLen-1 can hold a byte
			// outside the alphabet at k+HashLen-1: skip them all, as
			// Nix's scanner does (most bytes of binary data).
			for k+HashLen-1 < len(b) && !isNix32[b[k+HashLen-1]] {
				k += HashLen
			}
			if k >= end {
				break
			}
		}
		if !isNix32[b[k]] {
			run = 0
			continue
		}
		if run++; run < HashLen {
			continue
		}
		w := b[k+1-HashLen : k+1]
		if key := prefixKey(w); s.filter[key/64]&(1<<(key%64)) == 0 {
			continue
		}
		if p, ok := s.want[[HashLen]byte(w)]; ok {
			s.found = append(s.found, p)
			delete(s.want, [HashLen]byte(w))
		}
	}
}

// prefixKey is the filter's index of a window: the values of its first
// four characters, 5 bits each.
func prefixKey(w []byte) uint32 {
	return uint32(nix32Val[w[0]])<<15 | uint32(nix32Val[w[1]])<<10 | uint32(nix32Val[w[2]])<<5 | uint32(nix32Val[w[3]])
}

// Found returns the candidates found so far, sorted.
func (s *Scanner) Found() []string {
	out := append([]string(nil), s.found...)
	sort.Strings(out)
	return out
}

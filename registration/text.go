package registration

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxLineLen bounds one line of a text closure graph; a store path is at
// most a few hundred bytes, so anything longer is not a closure graph.
const maxLineLen = 64 << 10

// textFormat says which of the two line-based formats a reader parses.
type textFormat int

const (
	// plainFormat is exportReferencesGraph without structured attrs:
	// path, deriver, N, N references.
	plainFormat textFormat = iota
	// registrationFormat is closureInfo's registration and what
	// `nix-store --load-db` and `--register-validity --hash-given` read:
	// path, narHash, narSize, deriver, N, N references.
	registrationFormat
)

// lineReader reads lines and remembers the number of the last one, so that
// every error can name its file and line.
type lineReader struct {
	sc   *bufio.Scanner
	name string
	line int
}

func newLineReader(r io.Reader, name string) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineLen)
	return &lineReader{sc: sc, name: name}
}

// next returns the next line; io.EOF at the end of the input.
func (lr *lineReader) next() (string, error) {
	if !lr.sc.Scan() {
		if err := lr.sc.Err(); err != nil {
			return "", lr.errorf("after line %d: %w", lr.line, err)
		}
		return "", io.EOF
	}
	lr.line++
	return lr.sc.Text(), nil
}

// expect returns the next line, calling a missing one a truncated record.
func (lr *lineReader) expect(what, path string) (string, error) {
	s, err := lr.next()
	if errors.Is(err, io.EOF) {
		return "", lr.errorf("after line %d: truncated record of %s: missing %s", lr.line, path, what)
	}
	return s, err
}

// errorf formats an error that names the input.
func (lr *lineReader) errorf(format string, args ...any) error {
	return fmt.Errorf("parsing closure graph %q: "+format, append([]any{lr.name}, args...)...)
}

// lineErrorf formats an error that names the input and the current line.
func (lr *lineReader) lineErrorf(format string, args ...any) error {
	return lr.errorf("line %d: "+format, append([]any{lr.line}, args...)...)
}

// refSite remembers where a reference was read, to name it in errors.
type refSite struct {
	from string
	ref  string
	line int
}

// parseText reads a line-based closure graph in format f.
func parseText(r io.Reader, name, storeDir string, f textFormat) (*Graph, error) {
	if storeDir == "" {
		storeDir = DefaultStoreDir
	}
	lr := newLineReader(r, name)
	var (
		infos []PathInfo
		sites []refSite
		seen  = map[string]int{}
	)
	for {
		p, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := CheckStorePath(storeDir, p); err != nil {
			return nil, lr.lineErrorf("expected a store path: %w", err)
		}
		if first, dup := seen[p]; dup {
			return nil, lr.lineErrorf("store path %s appears twice (first on line %d)", p, first)
		}
		seen[p] = lr.line
		info := PathInfo{Path: p}
		if f == registrationFormat {
			if info.NarHash, info.NarSize, err = readHashAndSize(lr, p); err != nil {
				return nil, err
			}
		}
		if info.Deriver, err = lr.expect("deriver line", p); err != nil {
			return nil, err
		}
		if info.Deriver != "" {
			if err := CheckStorePath(storeDir, info.Deriver); err != nil {
				return nil, lr.lineErrorf("deriver of %s: %w", p, err)
			}
		}
		s, err := lr.expect("reference count", p)
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(s, 10, 31)
		if err != nil {
			return nil, lr.lineErrorf("bad reference count %q for %s: want a number", s, p)
		}
		for i := uint64(0); i < n; i++ {
			ref, err := lr.expect(fmt.Sprintf("reference %d of %d", i+1, n), p)
			if err != nil {
				return nil, err
			}
			if err := CheckStorePath(storeDir, ref); err != nil {
				return nil, lr.lineErrorf("reference of %s: %w", p, err)
			}
			info.References = append(info.References, ref)
			sites = append(sites, refSite{from: p, ref: ref, line: lr.line})
		}
		infos = append(infos, info)
	}
	for _, s := range sites {
		if _, ok := seen[s.ref]; !ok {
			return nil, lr.errorf("line %d: %s references %s, which is not in the closure", s.line, s.from, s.ref)
		}
	}
	g, err := NewGraph(storeDir, infos)
	if err != nil {
		return nil, lr.errorf("%w", err)
	}
	return g, nil
}

// readHashAndSize reads the narHash and narSize lines of a registration
// record.
func readHashAndSize(lr *lineReader, p string) (string, uint64, error) {
	h, err := lr.expect("narHash", p)
	if err != nil {
		return "", 0, err
	}
	if _, err := ParseNarHash(h); err != nil {
		return "", 0, lr.lineErrorf("narHash of %s: %w", p, err)
	}
	s, err := lr.expect("narSize", p)
	if err != nil {
		return "", 0, err
	}
	size, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return "", 0, lr.lineErrorf("bad narSize %q for %s: want a number", s, p)
	}
	return h, size, nil
}

// ParseExportReferences reads the plain-text file Nix writes for
// exportReferencesGraph without structured attrs: for every store path a
// line with the path, a deriver line (empty when unknown), the number N of
// references and N lines with one reference each. name names the input in
// errors; storeDir is the store directory ("" for /nix/store).
func ParseExportReferences(r io.Reader, name, storeDir string) (*Graph, error) {
	return parseText(r, name, storeDir, plainFormat)
}

// ParseRegistration reads closureInfo's registration file, the format of
// `nix-store --load-db` and `nix-store --register-validity --hash-given`:
// for every store path a line with the path, its narHash, its narSize, a
// deriver line (empty when unknown), the number N of references and N lines
// with one reference each.
func ParseRegistration(r io.Reader, name, storeDir string) (*Graph, error) {
	return parseText(r, name, storeDir, registrationFormat)
}

package registration

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
)

// ReadFile reads a closure graph from the file at path in any of the three
// formats and returns it; errors name the file. The format is detected from
// the content: a JSON list is the structured-attrs closure; otherwise, when
// the line after the first store path is a NAR hash, the file is a
// closureInfo registration, and else (an empty or deriver line follows) it
// is plain exportReferencesGraph text. An empty file is an empty graph.
func ReadFile(path, storeDir string) (*Graph, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading closure graph: %w", err)
	}
	return Parse(data, path, storeDir)
}

// Parse reads a closure graph in any of the three formats from data,
// detected as ReadFile does; name names the input in errors.
func Parse(data []byte, name, storeDir string) (*Graph, error) {
	switch detectFormat(data) {
	case formatJSON:
		return ParseStructured(data, name, storeDir)
	case formatRegistration:
		return ParseRegistration(bytes.NewReader(data), name, storeDir)
	default:
		return ParseExportReferences(bytes.NewReader(data), name, storeDir)
	}
}

type fileFormat int

const (
	formatPlain fileFormat = iota
	formatRegistration
	formatJSON
)

// detectFormat tells the three closure graph formats apart by their start.
func detectFormat(data []byte) fileFormat {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		return formatJSON
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLineLen)
	if !sc.Scan() || !sc.Scan() {
		return formatPlain
	}
	if _, err := ParseNarHash(sc.Text()); err == nil {
		return formatRegistration
	}
	return formatPlain
}

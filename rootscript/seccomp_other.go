//go:build linux && !amd64 && !arm64

package rootscript

// supported: the filter does not know this architecture's calls, so Run
// refuses (ErrUnsupported).
const supported = false

const auditArch = 0

var faked = map[uint32]call{}

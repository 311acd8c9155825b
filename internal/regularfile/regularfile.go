package regularfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNotRegular is wrapped by the errors for anything but a regular file
// (and, with noFollow, a symlink).
var ErrNotRegular = errors.New("not a regular file")

// notRegularError says what the file is instead.
type notRegularError struct{ kind string }

func (e *notRegularError) Error() string { return fmt.Sprintf("a %s, not a regular file", e.kind) }
func (e *notRegularError) Unwrap() error { return ErrNotRegular }

// OpenWith opens a file with open(flag) without blocking, refuses anything
// but a regular file, and makes the file blocking again.
func OpenWith(open func(flag int) (*os.File, error)) (*os.File, error) {
	f, err := open(os.O_RDONLY | syscall.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &notRegularError{Kind(fi.Mode())}
	}
	if err == nil {
		err = syscall.SetNonblock(int(f.Fd()), false)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Open opens the regular file p; with noFollow, a symlink at p is an
// ErrNotRegular error too.
func Open(p string, noFollow bool) (*os.File, error) {
	extra := 0
	if noFollow {
		extra = syscall.O_NOFOLLOW
	}
	f, err := OpenWith(func(flag int) (*os.File, error) { return os.OpenFile(p, flag|extra, 0) })
	var pe *os.PathError
	if noFollow && errors.As(err, &pe) && pe.Err == syscall.ELOOP {
		return nil, &notRegularError{"symlink"}
	}
	return f, err
}

// ReadAll reads the regular file p (see Open), failing after max bytes
// with an error naming p and the limit.
func ReadAll(p string, max int64, noFollow bool) ([]byte, error) {
	f, err := Open(p, noFollow)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f, p, max)
}

// readBounded reads f, named p in errors, failing after max bytes. A
// file whose size says it is too long fails before it is read.
func readBounded(f *os.File, p string, max int64) ([]byte, error) {
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		return nil, fmt.Errorf("%s is over the %d byte limit (%d bytes)", p, max, fi.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is over the %d byte limit", p, max)
	}
	return data, nil
}

// Kind names the type of a file that is not a regular file ("FIFO",
// "device", ...).
func Kind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}

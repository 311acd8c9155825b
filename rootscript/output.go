//go:build linux

package rootscript

import (
	"fmt"
	"io"
	"os"
)

// output is a script's output as Run reads it from the script's pipe,
// never whole: the first maxLogged bytes spooled to a file (the build log
// gets them), the last maxShown in memory (a failure's error shows them).
type output struct {
	spool   *os.File // closed once read; writeTo opens it again by name
	spooled int64
	total   int64
	tail    []byte // the last maxShown bytes at most
	err     error  // of the spool file
}

// readOutput reads r to its end (or until its read deadline).
func readOutput(r io.Reader, spool *os.File) *output {
	o := &output{spool: spool, tail: make([]byte, 0, 2*maxShown)}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		o.add(buf[:n])
		if err != nil {
			return o
		}
	}
}

func (o *output) add(b []byte) {
	o.total += int64(len(b))
	if room := maxLogged - o.spooled; room > 0 && o.err == nil {
		w := b[:min(int64(len(b)), room)]
		_, o.err = o.spool.Write(w)
		o.spooled += int64(len(w))
	}
	if len(b) >= maxShown {
		o.tail = append(o.tail[:0], b[len(b)-maxShown:]...)
		return
	}
	if len(o.tail)+len(b) > cap(o.tail) {
		o.tail = append(o.tail[:0], o.tail[len(o.tail)-(maxShown-len(b)):]...)
	}
	o.tail = append(o.tail, b...)
}

// shown is the end of the output, for an error: "...\n" first when
// something came before it.
func (o *output) shown() []byte {
	if len(o.tail) <= maxShown && o.total <= int64(maxShown) {
		return o.tail
	}
	return append([]byte("...\n"), o.tail[max(0, len(o.tail)-maxShown):]...)
}

// writeTo passes the output on to w (the build log): what was spooled,
// then, past maxLogged, a line saying how much was left out and the end.
func (o *output) writeTo(w io.Writer) error {
	if o.err != nil {
		return fmt.Errorf("spooling the script's output: %w", o.err)
	}
	f, err := os.Open(o.spool.Name())
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, io.LimitReader(f, o.spooled)); err != nil {
		return err
	}
	if o.total == o.spooled {
		return nil
	}
	end := o.tail[max(0, len(o.tail)-maxShown):]
	if rest := o.total - o.spooled; rest < int64(len(end)) {
		end = end[int64(len(end))-rest:]
	}
	fmt.Fprintf(w, "\n[... %d bytes of the script's output left out ...]\n", o.total-o.spooled-int64(len(end)))
	_, err = w.Write(end)
	return err
}

package runc

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/peapod/peapod/internal/runtime"
)

// conmon's attach protocol: SOCK_SEQPACKET packets whose first byte names
// the stream; what is written to the socket goes to the container's stdin
// (conmon -i). Resizes go through the ctl fifo as "1 <rows> <cols>\n".
const (
	attachStdout = 2
	attachStderr = 3
)

// Attach connects streams to the container's main process through
// conmon's attach socket. It returns when the container's output ends
// (the container exited) or ctx is done.
func (d *Driver) Attach(ctx context.Context, id string, s runtime.Streams) error {
	m, err := d.runningContainer(id)
	if err != nil {
		return err
	}
	c, _ := d.getContainer(id)
	sock := filepath.Join(d.dirs.socks, id, "attach")
	conn, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		return fmt.Errorf("attach %q: %w", m.Name, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if s.Resize != nil {
		go func() {
			ctl, err := os.OpenFile(filepath.Join(c.dir, "ctl"), os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer ctl.Close()
			for sz := range s.Resize {
				fmt.Fprintf(ctl, "1 %d %d\n", sz.Height, sz.Width)
			}
		}()
	}
	if s.Stdin != nil && m.Stdin {
		go func() {
			io.Copy(conn, s.Stdin)
			conn.CloseWrite()
		}()
	}
	buf := make([]byte, 8192+1)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			var w io.Writer
			switch buf[0] {
			case attachStdout:
				w = s.Stdout
			case attachStderr:
				w = s.Stderr
				if m.TTY {
					w = s.Stdout
				}
			}
			if w != nil {
				if _, werr := w.Write(buf[1:n]); werr != nil {
					return nil
				}
			}
		}
		if err != nil {
			// EOF: the container exited (conmon closed the socket); a
			// closed connection: ctx ended. Either way attach is over.
			return nil
		}
	}
}

//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly || solaris || illumos

package apifytest

import (
	"errors"
	"net"
	"syscall"
)

// unread reports whether c holds bytes that its client sent and the
// server has not read, or the end of the stream (the client closed it),
// or an error the server has yet to see: it peeks at the socket, which is
// non-blocking, without taking anything from it.
func unread(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	pending := false
	err = raw.Control(func(fd uintptr) {
		var b [1]byte
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			// Nothing to read is EAGAIN; a byte, the end of the stream
			// (0 bytes) or an error (a reset) is for the server to read.
			pending = !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK)
			return
		}
	})
	return err == nil && pending
}

package proxy

import (
	"net"
	"syscall"
)

// batchReads has the kernel wake the relay of conn only once n bytes are waiting (or the engine closed), not
// at every piece the engine writes: for an answer that ends by itself, where only the whole matters.
func batchReads(conn net.Conn, n int) {
	sc, ok := conn.(syscall.Conn) // a TLS connection is not: its reads are decrypted by Go, in pieces anyway
	if !ok {
		return
	}
	if raw, err := sc.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n) })
	}
}

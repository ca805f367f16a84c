//go:build unix

package filesink

import (
	"errors"
	"syscall"
)

const oNonblock = syscall.O_NONBLOCK

func isPermanentErrno(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EACCES, syscall.EPERM, syscall.ENOTDIR, syscall.EROFS, syscall.EISDIR,
		syscall.ELOOP, syscall.ENAMETOOLONG, syscall.EEXIST, syscall.ENOTEMPTY:
		return true
	}
	return false
}

func isErrno(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno)
}

// processAlive reports whether a process with this id exists on this host.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

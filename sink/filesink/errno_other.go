//go:build !unix

package filesink

import (
	"errors"
	"io/fs"
	"syscall"
)

const oNonblock = 0

func isPermanentErrno(err error) bool {
	return errors.Is(err, fs.ErrPermission)
}

func isErrno(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno)
}

// processAlive cannot tell; the age rule alone decides.
func processAlive(int) bool { return true }

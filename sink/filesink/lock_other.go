//go:build !unix

package filesink

import (
	"os"
	"sync"
)

// Without flock, the lock only excludes writers in this process.
var processLock sync.Mutex

func lockFile(*os.File) error { processLock.Lock(); return nil }

func unlockFile(*os.File) { processLock.Unlock() }

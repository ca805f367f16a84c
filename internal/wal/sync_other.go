//go:build !linux

package wal

import "os"

func fdatasync(f *os.File) error { return f.Sync() }

// lockDir does not lock on this platform.
func lockDir(string) (*os.File, error) { return nil, nil }

func unlockDir(*os.File) {}

//go:build !linux

package main

import "errors"

// setNice is implemented for Linux only, where a nice value is per thread.
func setNice(int) error {
	return errors.New("nice is supported on Linux only")
}

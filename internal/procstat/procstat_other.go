//go:build !linux

package procstat

// Process returns ErrUnsupported: /proc is Linux's.
func Process(pid int) (Usage, error) { return Usage{}, ErrUnsupported }

// Group returns ErrUnsupported: /proc is Linux's.
func Group(pgid int) (Usage, error) { return Usage{}, ErrUnsupported }

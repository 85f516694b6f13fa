package main

import "os"

// terminate stops the process; Windows has no SIGTERM to send.
func terminate(p *os.Process) error { return p.Kill() }

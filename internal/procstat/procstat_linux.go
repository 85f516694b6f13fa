package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ),
// 100 per second on every Linux architecture Go supports.
const clockTicks = 100

// Process returns what process pid uses.
func Process(pid int) (Usage, error) {
	st, err := readStat(pid)
	if err != nil {
		return Usage{}, err
	}
	return st.usage(), nil
}

// Group returns what the processes of process group pgid use together. A
// group with no process left is an error wrapping os.ErrNotExist.
func Group(pgid int) (Usage, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return Usage{}, fmt.Errorf("procstat: %w", err)
	}
	var total Usage
	found := false
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.pgrp != pgid {
			continue // gone meanwhile, or another group's
		}
		found = true
		u := st.usage()
		total.MemoryBytes += u.MemoryBytes
		total.CPUTime += u.CPUTime
	}
	if !found {
		return Usage{}, fmt.Errorf("procstat: process group %d: %w", pgid, os.ErrNotExist)
	}
	return total, nil
}

// stat holds the fields of /proc/PID/stat used here.
type stat struct {
	pgrp         int
	utime, stime int64 // clock ticks
	rssPages     int64
}

func (st stat) usage() Usage {
	return Usage{
		MemoryBytes: st.rssPages * int64(os.Getpagesize()),
		CPUTime:     ticks(st.utime + st.stime),
	}
}

// readStat reads and parses /proc/PID/stat (see proc(5)).
func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, fmt.Errorf("procstat: %w", err)
	}
	return parseStat(b)
}

// parseStat parses the contents of /proc/PID/stat. The command name, the
// second field, is in parentheses and may hold spaces and parentheses
// itself: the fields that follow start after the last ')'.
func parseStat(b []byte) (stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("procstat: malformed stat line %.40q", b)
	}
	// Field 3 (state) is fields[0]; field N is fields[N-3].
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 22 {
		return stat{}, fmt.Errorf("procstat: stat line has %d fields after the name, want at least 22", len(fields))
	}
	num := func(n int) (int64, error) {
		v, err := strconv.ParseInt(string(fields[n-3]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: stat field %d: %w", n, err)
		}
		return v, nil
	}
	var st stat
	var vals [4]int64
	for k, n := range []int{5, 14, 15, 24} { // pgrp, utime, stime, rss
		v, err := num(n)
		if err != nil {
			return stat{}, err
		}
		vals[k] = v
	}
	st.pgrp, st.utime, st.stime, st.rssPages = int(vals[0]), vals[1], vals[2], vals[3]
	return st, nil
}

// ticks converts clock ticks to a duration.
func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

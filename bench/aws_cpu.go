package bench

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: 1/USER_HZ
// seconds, and USER_HZ (sysconf(_SC_CLK_TCK)) is 100 on every Linux.
const clockTick = 10 * time.Millisecond

// processCPU returns the CPU time, user and system, that process pid's
// threads have used so far, in steps of clockTick: utime + stime of
// /proc/PID/stat. Off Linux it returns 0 and no error: not measured.
func processCPU(pid int) (time.Duration, error) {
	if runtime.GOOS != "linux" {
		return 0, nil
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("server CPU: %w", err)
	}
	// "PID (COMM) STATE ...": COMM may hold spaces and parentheses, the
	// fields after the last ')' do not. utime and stime are fields 14 and
	// 15 of the line, 12th and 13th after STATE.
	i := bytes.LastIndexByte(data, ')')
	f := bytes.Fields(data[i+1:])
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("server CPU: /proc/%d/stat: unexpected %q", pid, data)
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("server CPU: /proc/%d/stat: utime %q, stime %q are not numbers", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// serverCPU returns the CPU time the run's server process has used so
// far; 0 without a server process or off Linux.
func (r awsRun) serverCPU() (time.Duration, error) {
	if r.serverPID == 0 {
		return 0, nil
	}
	return processCPU(r.serverPID)
}

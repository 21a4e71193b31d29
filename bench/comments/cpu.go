package main

import (
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// cpuMeter reads the CPU time (user + system) spent so far by this process
// and, on Redis, by the redis-server: unlike wall-clock rates, CPU time per
// operation barely moves when other programs share the machine.
type cpuMeter struct {
	redisHost, redisPort string // empty: not on Redis
}

func newCPUMeter(storeURL string) cpuMeter {
	u, err := url.Parse(storeURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return cpuMeter{}
	}
	return cpuMeter{redisHost: u.Hostname(), redisPort: u.Port()}
}

// read returns this process's CPU time and the redis-server's (0 when not
// on Redis or when redis-cli cannot tell).
func (m cpuMeter) read() (self, redis time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if m.redisHost == "" {
		return self, 0
	}
	out, err := exec.Command("redis-cli", "-h", m.redisHost, "-p", m.redisPort, "INFO", "cpu").Output()
	if err != nil {
		return self, 0
	}
	for _, sm := range redisCPURe.FindAllSubmatch(out, -1) {
		s, _ := strconv.ParseFloat(string(sm[1]), 64)
		redis += time.Duration(s * float64(time.Second))
	}
	return self, redis
}

var redisCPURe = regexp.MustCompile(`(?m)^used_cpu_(?:sys|user):([0-9.]+)\r?$`)

// cpuSpan is the CPU time spent between two readings.
type cpuSpan struct{ self, redis time.Duration }

func (m cpuMeter) since(self0, redis0 time.Duration) cpuSpan {
	self, redis := m.read()
	return cpuSpan{self - self0, redis - redis0}
}

// per is the CPU time per operation, in µs, of the process and of both.
func (s cpuSpan) per(n int) (self, total float64) {
	if n == 0 {
		return 0, 0
	}
	return float64(s.self) / float64(time.Microsecond) / float64(n), float64(s.self+s.redis) / float64(time.Microsecond) / float64(n)
}

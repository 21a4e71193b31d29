package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// served is a running `tidings serve` process.
type served struct {
	cmd     *exec.Cmd
	origin  string // http://127.0.0.1:PORT
	logPath string
	done    chan error // receives Wait's result once the process has exited
	client  *http.Client

	stopOnce sync.Once
	stopErr  error
}

// startServe runs bin as `tidings serve` on a free loopback port over
// storeURL, trusting X-Forwarded-For, mailing through smtpURL, without
// poller or digest schedule, its log written to logPath.
func startServe(bin, storeURL, dataDir, smtpURL, secretHex, logPath string) (*served, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	origin := "http://" + addr
	cmd := exec.Command(bin, "serve",
		"--store", storeURL, "--data", dataDir, "--addr", addr, "--base-url", origin,
		"--trust-proxy", "--no-poll", "--no-digest", "--smtp", smtpURL)
	cmd.Env = append(os.Environ(), "TIDINGS_SECRET_KEY="+secretHex)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	s := &served{cmd: cmd, origin: origin, logPath: logPath, done: make(chan error, 1),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	go func() { s.done <- cmd.Wait(); logFile.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := s.client.Get(origin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("tidings serve exited at start (%v):\n%s", err, s.logTail(20))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("tidings serve not ready after 60 s:\n%s", s.logTail(20))
		}
	}
}

// stop asks the process to stop (SIGTERM), then kills it after 10 s. It
// may be called again and returns the same result.
func (s *served) stop() error {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case s.stopErr = <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
			s.stopErr = errors.New("tidings serve did not stop within 10 s of SIGTERM; killed")
		}
	})
	return s.stopErr
}

// exited says whether the process has ended, and how.
func (s *served) exited() (bool, error) {
	select {
	case err := <-s.done:
		s.done <- err
		return true, err
	default:
		return false, nil
	}
}

// sample is one reading of the server process.
type sample struct {
	rss        int64 // VmRSS from /proc, bytes
	goroutines int   // go_goroutines from /metrics
	heapInuse  int64 // go_memstats_heap_inuse_bytes
	// goHeld is what the Go runtime holds from the system
	// (go_memstats_sys_bytes less go_memstats_heap_released_bytes); the
	// rest of rss is mostly outside Go (SQLite's page caches, binary).
	goHeld int64
}

// read reads the process's resident memory and its /metrics.
func (s *served) read(ctx context.Context) (sample, error) {
	var sm sample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return sm, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return sm, fmt.Errorf("VmRSS %q: %w", rest, err)
			}
			sm.rss = kb << 10
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.origin+"/metrics", nil)
	if err != nil {
		return sm, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return sm, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sm, fmt.Errorf("/metrics: %s", resp.Status)
	}
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "go_goroutines":
			f, _ := strconv.ParseFloat(value, 64)
			sm.goroutines = int(f)
			found++
		case "go_memstats_heap_inuse_bytes":
			f, _ := strconv.ParseFloat(value, 64)
			sm.heapInuse = int64(f)
		case "go_memstats_sys_bytes":
			f, _ := strconv.ParseFloat(value, 64)
			sm.goHeld += int64(f)
		case "go_memstats_heap_released_bytes":
			f, _ := strconv.ParseFloat(value, 64)
			sm.goHeld -= int64(f)
		}
	}
	if err := sc.Err(); err != nil {
		return sm, err
	}
	if found == 0 {
		return sm, errors.New("/metrics has no go_goroutines")
	}
	return sm, nil
}

// logTail is the last n lines of the server's log.
func (s *served) logTail(n int) string {
	b, _ := os.ReadFile(s.logPath)
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// logLines counts the lines of the server's log at level ERROR and WARN,
// and returns the first few of them.
func (s *served) logProblems(keep int) (errs, warns int, first []string) {
	f, err := os.Open(s.logPath)
	if err != nil {
		return 0, 0, nil
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadString('\n')
		isErr, isWarn := strings.Contains(line, "level=ERROR"), strings.Contains(line, "level=WARN")
		if isErr {
			errs++
		}
		if isWarn {
			warns++
		}
		if (isErr || isWarn) && len(first) < keep {
			first = append(first, strings.TrimSpace(line))
		}
		if err == io.EOF {
			return errs, warns, first
		}
		if err != nil {
			return errs, warns, first
		}
	}
}

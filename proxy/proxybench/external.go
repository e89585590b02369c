package proxybench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Independent load generators: wrk (HTTP/1.1) and h2load (h2c, cleartext
// HTTP/2 with prior knowledge), run as separate processes on the load
// core when installed, so that the verdict does not rest on the bench's
// own client alone. Each reports what it measures and no more: wrk gives
// latency percentiles (50, 75, 90, 99) with mean, deviation and maximum;
// h2load gives the minimum, maximum, mean and deviation of its request
// times but no percentiles.

// Tool names, as in Phase.Tool.
const (
	ToolOwn    = "meshbench"
	ToolWrk    = "wrk"
	ToolH2load = "h2load"
)

// toolTimeout is how much longer than its duration an external load
// generator may run before it is killed.
const toolTimeout = 20 * time.Second

// lookTool finds an installed load generator ("" when missing).
func lookTool(name string) string {
	bin, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return bin
}

// runTool runs a load generator, pinned to the load core when pinning,
// bounded by d plus toolTimeout, and returns its output.
func runTool(ctx context.Context, pin pinning, d time.Duration, args []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, d+toolTimeout)
	defer cancel()
	if pin.taskset != "" {
		args = append([]string{pin.taskset, "-c", strconv.Itoa(loadCore)}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", args[0], err, firstLine(string(out)))
	}
	return string(out), nil
}

// wholeSeconds is d in whole seconds, at least one: both tools take their
// duration in seconds.
func wholeSeconds(d time.Duration) int { return max(1, int(math.Round(d.Seconds()))) }

// wrkArgs is the command line of one wrk phase: one thread (the load core
// is one core), conns connections, --latency for the percentiles.
func wrkArgs(bin, url string, conns int, d time.Duration, headers []string) []string {
	args := []string{bin, "-t1", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(wholeSeconds(d)) + "s", "--latency"}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	return append(args, url)
}

// h2loadArgs is the command line of one h2load phase: one thread, conns
// connections with one stream each (as wrk's one request per connection),
// for d; an http:// URL makes h2load speak h2c with prior knowledge.
func h2loadArgs(bin, url string, conns int, d time.Duration, headers []string) []string {
	args := []string{bin, "-t1", "-c" + strconv.Itoa(conns), "-m1", "-D" + strconv.Itoa(wholeSeconds(d))}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	return append(args, url)
}

var (
	wrkRequests = regexp.MustCompile(`^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h),`)
	wrkLatency  = regexp.MustCompile(`^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+%`)
	wrkPct      = regexp.MustCompile(`^\s*(50|75|90|99)(?:\.0+)?%\s+(\S+)`)
	wrkNon2xx   = regexp.MustCompile(`^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkSocket   = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's report (wrk 4 with --latency). Errors count the
// non-2xx/3xx answers and the socket errors; throughput counts the other
// answers.
func parseWrk(out string) (Phase, error) {
	p := Phase{Tool: ToolWrk}
	var sawRequests, sawPct bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		var err error
		switch {
		case wrkRequests.MatchString(line):
			m := wrkRequests.FindStringSubmatch(line)
			p.Requests, err = strconv.ParseInt(m[1], 10, 64)
			if err == nil {
				var sec float64
				sec, err = durationOf(m[2], m[3])
				p.Seconds = sec / 1000
			}
			sawRequests = true
		case wrkLatency.MatchString(line):
			m := wrkLatency.FindStringSubmatch(line)
			if p.MeanMs, err = latencyMs(m[1]); err == nil {
				if p.SdMs, err = latencyMs(m[2]); err == nil {
					p.MaxMs, err = latencyMs(m[3])
				}
			}
		case wrkPct.MatchString(line):
			m := wrkPct.FindStringSubmatch(line)
			var v float64
			v, err = latencyMs(m[2])
			switch m[1] {
			case "50":
				p.P50Ms = v
			case "75":
				p.P75Ms = v
			case "90":
				p.P90Ms = v
			case "99":
				p.P99Ms = v
			}
			sawPct = true
		case wrkNon2xx.MatchString(line):
			var n int64
			n, err = strconv.ParseInt(wrkNon2xx.FindStringSubmatch(line)[1], 10, 64)
			p.Errors += n
			if n > 0 && p.firstError == "" {
				p.firstError = fmt.Sprintf("wrk: %d non-2xx or 3xx responses", n)
			}
		case wrkSocket.MatchString(line):
			m := wrkSocket.FindStringSubmatch(line)
			var sum int64
			for _, s := range m[1:] {
				n, perr := strconv.ParseInt(s, 10, 64)
				if perr != nil {
					err = perr
				}
				sum += n
			}
			p.Errors += sum
			if sum > 0 && p.firstError == "" {
				p.firstError = "wrk: " + strings.TrimSpace(line)
			}
		}
		if err != nil {
			return p, fmt.Errorf("wrk output: line %q: %w", line, err)
		}
	}
	if !sawRequests {
		return p, fmt.Errorf("wrk output: no %q line: %s", "N requests in T", firstLine(out))
	}
	if !sawPct {
		return p, errors.New("wrk output: no latency distribution (was --latency given?)")
	}
	if p.Seconds > 0 {
		p.Throughput = float64(max(0, p.Requests-min(p.Errors, p.Requests))) / p.Seconds
	}
	return p, nil
}

var (
	h2Finished = regexp.MustCompile(`^finished in ([0-9.]+)(us|ms|s|m|h),`)
	h2Requests = regexp.MustCompile(`^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2Time     = regexp.MustCompile(`^time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+%`)
)

// parseH2load reads h2load's report (nghttp2 1.x). Requests are those
// done; errors those not succeeded (h2load counts a non-2xx/3xx answer as
// failed). The latencies are min, max, mean and deviation: h2load gives no
// percentiles.
func parseH2load(out string) (Phase, error) {
	p := Phase{Tool: ToolH2load}
	var sawFinished, sawRequests bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		var err error
		switch {
		case h2Finished.MatchString(line):
			m := h2Finished.FindStringSubmatch(line)
			var ms float64
			ms, err = durationOf(m[1], m[2])
			p.Seconds = ms / 1000
			sawFinished = true
		case h2Requests.MatchString(line):
			m := h2Requests.FindStringSubmatch(line)
			var n [7]int64
			for i := range n {
				if n[i], err = strconv.ParseInt(m[i+1], 10, 64); err != nil {
					break
				}
			}
			p.Requests = n[2]
			p.Errors = n[2] - n[3]
			if p.Errors > 0 {
				p.firstError = fmt.Sprintf("h2load: %d failed, %d errored, %d timeout", n[4], n[5], n[6])
			}
			sawRequests = true
		case h2Time.MatchString(line):
			m := h2Time.FindStringSubmatch(line)
			var v [4]float64
			for i := range v {
				if v[i], err = latencyMs(m[i+1]); err != nil {
					break
				}
			}
			p.MinMs, p.MaxMs, p.MeanMs, p.SdMs = v[0], v[1], v[2], v[3]
		}
		if err != nil {
			return p, fmt.Errorf("h2load output: line %q: %w", line, err)
		}
	}
	if !sawFinished || !sawRequests {
		return p, fmt.Errorf("h2load output: no %q and %q lines: %s", "finished in", "requests:", firstLine(out))
	}
	if p.Requests == 0 {
		return p, errors.New("h2load: no request was done (did it connect? h2c needs a listener speaking HTTP/2 with prior knowledge)")
	}
	if p.Seconds > 0 {
		p.Throughput = float64(p.Requests-p.Errors) / p.Seconds
	}
	return p, nil
}

// latencyMs parses a latency as both tools print it: a number with the
// unit us, ms, s, m or h.
func latencyMs(s string) (float64, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, fmt.Errorf("latency %q: want a number and a unit", s)
	}
	return durationOf(s[:i], s[i:])
}

// durationOf converts a number and a unit to milliseconds.
func durationOf(num, unit string) (float64, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("number %q: %w", num, err)
	}
	switch unit {
	case "us":
		return v / 1000, nil
	case "ms":
		return v, nil
	case "s":
		return v * 1000, nil
	case "m":
		return v * 60_000, nil
	case "h":
		return v * 3_600_000, nil
	}
	return 0, fmt.Errorf("unit %q: want us, ms, s, m or h", unit)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

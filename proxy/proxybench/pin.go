package proxybench

import "strconv"

// Cores of the pinning: the proxy under test gets one, the load generator
// and the upstream the other.
const (
	loadCore  = 0
	proxyCore = 1
)

// pinning says whether and how processes are pinned.
type pinning struct {
	taskset string // path of taskset; "" when not pinning
}

// wrap prefixes a command line with `taskset -c <proxyCore>`.
func (p pinning) wrap(args []string) []string {
	if p.taskset == "" {
		return args
	}
	return append([]string{p.taskset, "-c", strconv.Itoa(proxyCore)}, args...)
}

package proxybench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// process is a proxy the bench started: it is stopped by its PID.
type process struct {
	name    string
	version string
	addr    string // where it listens
	h2addr  string // where it takes h2c; "" when it does not
	log     string // its stdout and stderr
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// startProcess runs args with env added, output to logFile.
func startProcess(name, addr, logFile string, args, env []string) (*process, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, addr: addr, log: logFile, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		out.Close()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM to the process, and SIGKILL if it has not exited
// after a grace period.
func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// ready waits until a GET through the process answers 200, failing if
// the process exits or 15 seconds pass.
func (p *process) ready(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited: %v; its log:\n%s", p.name, p.waitErr, tail(p.log))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if last = probe(ctx, p.addr); last == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond) // polling a process we do not control
	}
	return fmt.Errorf("%s not ready on %s: %v; its log:\n%s", p.name, p.addr, last, tail(p.log))
}

// probe sends one GET to addr.
func probe(ctx context.Context, addr string) error {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := dialLoop(pctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	ok, _, err := c.roundTrip([]byte("GET /ready HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"))
	if err == nil && !ok {
		err = errors.New("non-2xx answer")
	}
	return err
}

func tail(file string) string {
	b, _ := os.ReadFile(file)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// freeAddr returns a 127.0.0.1 address that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// launcher starts one kind of proxy in front of upstream, or says why it
// cannot.
type launcher func(dir, upstream string, pin pinning, cfg Config) (*process, error)

// errSkip reports a proxy that is not installed.
type errSkip struct{ why string }

func (e *errSkip) Error() string { return e.why }

func launchMeshbench(dir, upstream string, pin pinning, cfg Config) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "meshbench.yaml")
	if err := os.WriteFile(conf, []byte(meshbenchConfig(addr, upstream)), 0o600); err != nil {
		return nil, err
	}
	args, err := cfg.MeshbenchCommand(conf)
	if err != nil {
		return nil, err
	}
	p, err := startProcess(TargetMeshbench, addr, filepath.Join(dir, "meshbench.log"), pin.wrap(args), []string{"GOMAXPROCS=1"})
	if err != nil {
		return nil, err
	}
	p.version = "this build"
	p.h2addr = addr // its listener takes h2c with prior knowledge as well
	return p, nil
}

func launchNginx(dir, upstream string, pin pinning, _ Config) (*process, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin, err = lookSbin("nginx")
	}
	if err != nil {
		return nil, &errSkip{"nginx not installed (apt-get install nginx)"}
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	h2addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	prefix := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(prefix, addr, h2addr, upstream)), 0o644); err != nil {
		return nil, err
	}
	args := []string{bin, "-p", prefix, "-c", conf, "-e", filepath.Join(prefix, "error.log")}
	p, err := startProcess(TargetNginx, addr, filepath.Join(dir, "nginx.log"), pin.wrap(args), nil)
	if err != nil {
		return nil, err
	}
	p.version = versionOf(bin, "-v")
	p.h2addr = h2addr
	return p, nil
}

func launchHAProxy(dir, upstream string, pin pinning, _ Config) (*process, error) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		bin, err = lookSbin("haproxy")
	}
	if err != nil {
		return nil, &errSkip{"haproxy not installed (apt-get install haproxy)"}
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	h2addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(conf, []byte(haproxyConfig(addr, h2addr, upstream)), 0o644); err != nil {
		return nil, err
	}
	p, err := startProcess(TargetHAProxy, addr, filepath.Join(dir, "haproxy.log"), pin.wrap([]string{bin, "-f", conf, "-db"}), nil)
	if err != nil {
		return nil, err
	}
	p.version = versionOf(bin, "-v")
	p.h2addr = h2addr
	return p, nil
}

// lookSbin finds daemons that are installed in /usr/sbin when PATH lacks
// it.
func lookSbin(name string) (string, error) {
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// versionOf returns the first line a binary prints for its version flag.
func versionOf(bin, flag string) string {
	out, _ := exec.Command(bin, flag).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	line = strings.TrimPrefix(line, "nginx version: ")
	if f := strings.Fields(line); len(f) >= 3 && f[0] == "HAProxy" {
		line = "haproxy/" + f[2]
	}
	return line
}

package mtls

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// recordTypeHandshake is the first byte of every TLS connection: a
// handshake record carrying the ClientHello (RFC 8446 §5.1, RFC 5246
// §6.2.1). No HTTP/1.x method and not the HTTP/2 preface starts with it.
const recordTypeHandshake = 0x16

// sniffListener is the PERMISSIVE listener: it accepts on inner in a
// goroutine, reads each connection's first byte in a goroutine of its own,
// and hands Accept a *tls.Conn or the plaintext connection with that byte
// put back.
type sniffListener struct {
	inner   net.Listener
	cfg     *tls.Config
	timeout time.Duration

	ready chan net.Conn
	errs  chan error // Accept errors other than closing
	done  chan struct{}
	errc  chan struct{} // closed when inner.Accept fails for good
	err   error         // set before errc is closed

	closeOnce sync.Once
	wg        sync.WaitGroup

	mu      sync.Mutex
	sniffed map[net.Conn]struct{} // connections whose first byte is awaited
}

func newSniffListener(inner net.Listener, cfg *tls.Config, timeout time.Duration) *sniffListener {
	l := &sniffListener{
		inner:   inner,
		cfg:     cfg,
		timeout: timeout,
		ready:   make(chan net.Conn),
		errs:    make(chan error),
		done:    make(chan struct{}),
		errc:    make(chan struct{}),
		sniffed: map[net.Conn]struct{}{},
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *sniffListener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.inner.Accept()
		if errors.Is(err, net.ErrClosed) {
			l.err = err
			close(l.errc)
			return
		}
		if err != nil {
			// Others (EMFILE, say) go to the caller of Accept, which
			// decides whether to retry, as http.Server does.
			select {
			case l.errs <- err:
				continue
			case <-l.done:
				l.err = net.ErrClosed
				close(l.errc)
				return
			}
		}
		l.mu.Lock()
		select {
		case <-l.done:
			l.mu.Unlock()
			c.Close()
			continue
		default:
		}
		l.sniffed[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.sniff(c)
	}
}

func (l *sniffListener) sniff(c net.Conn) {
	defer l.wg.Done()
	var first [1]byte
	c.SetReadDeadline(time.Now().Add(l.timeout))
	n, err := c.Read(first[:])
	c.SetReadDeadline(time.Time{})
	l.mu.Lock()
	delete(l.sniffed, c)
	l.mu.Unlock()
	if err != nil || n == 0 {
		c.Close()
		return
	}
	pc := &prefixConn{Conn: c, prefix: first[:]}
	var out net.Conn = pc
	if first[0] == recordTypeHandshake {
		out = tls.Server(pc, l.cfg)
	}
	select {
	case l.ready <- out:
	case <-l.done:
		c.Close()
	}
}

// Accept returns the next connection whose first byte has arrived.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.errc:
		return nil, l.err
	}
}

// Close stops accepting, closes the connections still being sniffed, and
// waits for the listener's goroutines to end.
func (l *sniffListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.mu.Lock()
		close(l.done)
		for c := range l.sniffed {
			c.Close()
		}
		l.mu.Unlock()
		err = l.inner.Close()
		l.wg.Wait()
	})
	return err
}

func (l *sniffListener) Addr() net.Addr { return l.inner.Addr() }

// WithPrefix returns c with prefix, bytes already read from it, replayed
// before what follows on the connection.
func WithPrefix(c net.Conn, prefix []byte) net.Conn { return &prefixConn{Conn: c, prefix: prefix} }

// prefixConn replays bytes already read before reading from the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

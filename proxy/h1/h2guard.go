package h1

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"math"
	"net"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2MaxFrame is the largest frame the HTTP/2 server reads
// (SETTINGS_MAX_FRAME_SIZE): the protocol's initial value, 16 KiB. Go's
// default, 1 MiB, lets a client send a 1 MiB HEADERS frame where RFC 9113
// section 4.2 expects a peer that never raised the limit to get
// FRAME_SIZE_ERROR, and buys a proxy nothing.
const h2MaxFrame = 16 << 10

// Frame types and flags the guard reads (RFC 9113 section 6).
const (
	frameHeaders      = 0x1
	framePriority     = 0x2
	frameSettings     = 0x4
	frameContinuation = 0x9

	flagAck        = 0x1
	flagEndStream  = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20
)

// h2Guard sits between an HTTP/2 client and golang.org/x/net/http2's
// server, on the read side, and makes the server refuse two things RFC 9113
// says to treat otherwise than it does:
//
//   - A request (or trailer) with a connection-specific field (Connection,
//     Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade) or a TE other
//     than "trailers" is malformed, a stream error of type PROTOCOL_ERROR
//     (section 8.2.2); the server answers it 400 instead. The guard decodes
//     every header block with an HPACK decoder of its own, which the
//     client's encoder keeps in step with the server's, and marks such a
//     block's HEADERS frame as depending on its own stream, which the server
//     resets with PROTOCOL_ERROR before it runs a handler (RFC 7540 section
//     5.3.1). A block too large to hold gets a self-dependent PRIORITY frame
//     after it instead, which resets the stream as well.
//   - A SETTINGS frame may carry a parameter more than once, the values
//     processed in order (section 6.5.3); the server hangs up on duplicates.
//     The guard passes on the last value of each parameter, which leaves
//     the same settings in force, cut after the first invalid value so that
//     it still fails as it would have.
//
// Anything it cannot follow (a bad preface, an oversized or malformed
// frame, a block that does not decode) it passes on unchanged and stops
// looking: the server refuses the connection itself.
type h2Guard struct {
	net.Conn
	br      *bufio.Reader
	out     []byte // bytes ready for the server
	outBuf  []byte
	pass    int // payload bytes of the current frame still to pass unread
	preface bool
	blind   bool

	dec    *hpack.Decoder
	stream uint32 // the stream of the header block being read; 0 between blocks
	bad    bool   // the block has a field section 8.2.2 forbids
	held   []byte // the block's frames, held until its end (nil: not held)

	w h2Writer // the write side (h2cork.go)
}

// tlsH2Guard is an h2Guard over a TLS connection: the server takes the
// connection state (r.TLS, the cipher suite check) from its
// ConnectionState.
type tlsH2Guard struct {
	*h2Guard
	tc *tls.Conn
}

func (g tlsH2Guard) ConnectionState() tls.ConnectionState { return g.tc.ConnectionState() }

// guardH2 wraps nc, which starts with the client connection preface, for
// the HTTP/2 server; tc is the TLS connection under nc, if any.
func guardH2(nc net.Conn, tc *tls.Conn) net.Conn {
	g := &h2Guard{Conn: nc, br: bufio.NewReaderSize(nc, 9+h2MaxFrame), preface: true}
	g.dec = hpack.NewDecoder(4096, g.field)
	g.dec.SetMaxStringLength(1 << 20)
	if tc != nil {
		return tlsH2Guard{g, tc}
	}
	return g
}

// maxHeldBlock bounds the header block frames held until the block ends;
// a longer block is passed on as it comes.
const maxHeldBlock = 64 << 10

func (g *h2Guard) Read(p []byte) (int, error) {
	for len(g.out) == 0 && g.pass == 0 {
		if err := g.next(); err != nil {
			return 0, err
		}
	}
	if len(g.out) > 0 {
		n := copy(p, g.out)
		g.out = g.out[n:]
		return n, nil
	}
	n, err := g.br.Read(p[:min(len(p), g.pass)])
	g.pass -= n
	return n, err
}

// emit queues b for the server.
func (g *h2Guard) emit(b ...[]byte) {
	if len(g.out) == 0 {
		g.out = g.outBuf[:0]
	}
	for _, x := range b {
		g.out = append(g.out, x...)
	}
	g.outBuf = g.out[:0]
}

// stopLooking passes everything from here on unchanged.
func (g *h2Guard) stopLooking() {
	g.blind = true
	if g.held != nil {
		g.emit(g.held)
		g.held = nil
	}
	g.pass = math.MaxInt
}

// next reads what comes next from the client (the preface, or one frame's
// header, or a whole frame the guard looks into) and queues it.
func (g *h2Guard) next() error {
	if g.blind {
		g.pass = math.MaxInt
		return nil
	}
	if g.preface {
		b, err := g.br.Peek(len(h2Preface))
		if err != nil {
			if len(b) > 0 {
				g.stopLooking()
				return nil
			}
			return err
		}
		g.preface = false
		if string(b) != h2Preface {
			g.stopLooking()
			return nil
		}
		g.emit(b)
		_, _ = g.br.Discard(len(b))
		return nil
	}
	h, err := g.br.Peek(9)
	if err != nil {
		if len(h) > 0 {
			g.stopLooking()
			return nil
		}
		return err
	}
	length := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	typ := h[3]
	inBlock := g.stream != 0
	switch {
	case inBlock && typ != frameContinuation, length > h2MaxFrame:
		// A connection error the server will find.
		g.stopLooking()
		return nil
	case typ != frameHeaders && typ != frameContinuation && typ != frameSettings:
		g.emit(h)
		_, _ = g.br.Discard(9)
		g.pass = length
		return nil
	}
	f, err := g.br.Peek(9 + length)
	if err != nil {
		if len(f) > 0 {
			g.stopLooking()
			return nil
		}
		return err
	}
	defer g.br.Discard(len(f))
	switch typ {
	case frameSettings:
		g.settings(f)
	case frameHeaders:
		g.headers(f)
	case frameContinuation:
		g.continuation(f)
	}
	return nil
}

// headers starts a header block.
func (g *h2Guard) headers(f []byte) {
	flags, id := f[4], binary.BigEndian.Uint32(f[5:9])&(1<<31-1)
	p := f[9:]
	off, pad := 0, 0
	if flags&flagPadded != 0 {
		if len(p) < 1 {
			g.emit(f)
			g.stopLooking()
			return
		}
		pad, off = int(p[0]), 1
	}
	if flags&flagPriority != 0 {
		off += 5
	}
	if id == 0 || off+pad > len(p) {
		g.emit(f)
		g.stopLooking()
		return
	}
	g.stream, g.bad = id, false
	g.held = append(g.held[:0], f...)
	g.fragment(p[off:len(p)-pad], flags&flagEndHeaders != 0)
}

// continuation goes on with the header block.
func (g *h2Guard) continuation(f []byte) {
	if g.stream == 0 || binary.BigEndian.Uint32(f[5:9])&(1<<31-1) != g.stream {
		g.emit(f)
		g.stopLooking()
		return
	}
	if g.held != nil && len(g.held)+len(f) <= maxHeldBlock {
		g.held = append(g.held, f...)
	} else {
		if g.held != nil {
			g.emit(g.held)
			g.held = nil
		}
		g.emit(f)
	}
	g.fragment(f[9:], f[4]&flagEndHeaders != 0)
}

// fragment decodes a piece of the header block and, at its end, passes
// the block on, refused if it is malformed.
func (g *h2Guard) fragment(b []byte, end bool) {
	if _, err := g.dec.Write(b); err != nil {
		g.stopLooking()
		return
	}
	if !end {
		return
	}
	if err := g.dec.Close(); err != nil {
		g.stopLooking()
		return
	}
	id := g.stream
	g.stream = 0
	switch {
	case !g.bad && g.held != nil:
		g.emit(g.held)
	case !g.bad:
	case g.held != nil && selfDependent(&g.held, id):
		g.emit(g.held)
	default:
		if g.held != nil {
			g.emit(g.held)
		}
		g.emit(priorityFrame(id))
	}
	g.held = g.held[:0]
}

// field notes a decoded field that makes the block malformed (RFC 9113
// section 8.2.2).
func (g *h2Guard) field(f hpack.HeaderField) {
	switch f.Name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		g.bad = true
	case "te":
		if f.Value != "trailers" {
			g.bad = true
		}
	}
}

// selfDependent makes the HEADERS frame at the start of *held depend on
// its own stream, unless that would make it longer than h2MaxFrame.
func selfDependent(held *[]byte, id uint32) bool {
	f := *held
	length := int(f[0])<<16 | int(f[1])<<8 | int(f[2])
	flags := f[4]
	at := 9
	if flags&flagPadded != 0 {
		at++
	}
	if flags&flagPriority != 0 {
		binary.BigEndian.PutUint32(f[at:], id)
		return true
	}
	if length+5 > h2MaxFrame {
		return false
	}
	length += 5
	out := make([]byte, 0, len(f)+5)
	out = append(out, byte(length>>16), byte(length>>8), byte(length), f[3], flags|flagPriority)
	out = append(out, f[5:at]...)
	out = binary.BigEndian.AppendUint32(out, id)
	out = append(out, 15) // weight 16, the default
	out = append(out, f[at:]...)
	*held = out
	return true
}

// priorityFrame is a PRIORITY frame making stream id depend on itself.
func priorityFrame(id uint32) []byte {
	f := []byte{0, 0, 5, framePriority, 0}
	f = binary.BigEndian.AppendUint32(f, id)
	f = binary.BigEndian.AppendUint32(f, id)
	return append(f, 15)
}

// settings passes a SETTINGS frame on with one value per parameter.
func (g *h2Guard) settings(f []byte) {
	p := f[9:]
	if f[4]&flagAck != 0 || binary.BigEndian.Uint32(f[5:9]) != 0 || len(p)%6 != 0 {
		g.emit(f)
		return
	}
	var list []http2.Setting
	dup := false
	for i := 0; i < len(p); i += 6 {
		s := http2.Setting{ID: http2.SettingID(binary.BigEndian.Uint16(p[i:])), Val: binary.BigEndian.Uint32(p[i+2:])}
		for _, o := range list {
			dup = dup || o.ID == s.ID
		}
		list = append(list, s)
		if s.Valid() != nil {
			break // processing stops here
		}
	}
	if !dup {
		g.emit(f)
		return
	}
	out := make([]byte, 9, len(f))
	copy(out, f[:9])
	for i, s := range list {
		last := true
		for _, o := range list[i+1:] {
			last = last && o.ID != s.ID
		}
		if last {
			out = binary.BigEndian.AppendUint16(out, uint16(s.ID))
			out = binary.BigEndian.AppendUint32(out, s.Val)
		}
	}
	n := len(out) - 9
	out[0], out[1], out[2] = byte(n>>16), byte(n>>8), byte(n)
	g.emit(out)
}

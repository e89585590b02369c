package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshbench/meshbench/proxy/config"
)

// chatMethod is the bidirectional streaming method of the test stream
// service: what each stream does is its plan's, by the order the streams
// arrive at the upstream (1 for the first try, 2 for a retry or hedge).
const chatMethod = "/meshbench.test.Chat/Chat"

var chatDesc = &grpc.StreamDesc{StreamName: "Chat", ServerStreams: true, ClientStreams: true}

// streamPlan is what one stream does on the chat upstream.
type streamPlan struct {
	// failAfter > 0: read that many messages, then fail with failCode
	// before sending anything (a trailers-only answer).
	failAfter int
	failCode  codes.Code
	// hang: read messages until the stream is cancelled, never answer.
	hang bool
	// failAfterReply > 0: echo that many messages, then fail with
	// failCode in the trailers.
	failAfterReply int
	// echoThenWait: echo the first message, then tell replied and wait
	// for the stream's end (the test kills the connections).
	echoThenWait bool
	// headerFirst: send the header metadata before reading anything.
	headerFirst bool
	// silentFor > 0: answer nothing before that many messages, then echo.
	silentFor int
}

// chatStream is what the upstream saw of one stream.
type chatStream struct {
	mu       sync.Mutex
	got      []string
	ended    chan struct{} // closed when the handler returns
	replied  chan struct{} // closed after echoThenWait's first echo
	changed  chan struct{} // closed, and replaced, when a message arrives
	canceled bool          // the stream's context ended before the handler did
}

func (s *chatStream) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// chatUpstream is a grpc-go server on 127.0.0.1 with the chat service;
// it keeps its raw connections so that a test can break them.
type chatUpstream struct {
	addr  string
	plans []streamPlan // by stream number, from 1; echo past the end

	mu      sync.Mutex
	streams []*chatStream
	conns   []net.Conn
	arrived chan *chatStream
}

type chatService interface{}

func startChatUpstream(t testing.TB, plans ...streamPlan) *chatUpstream {
	t.Helper()
	u := &chatUpstream{plans: plans, arrived: make(chan *chatStream, 16)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = ln.Addr().String()
	srv := grpc.NewServer()
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "meshbench.test.Chat",
		HandlerType: (*chatService)(nil),
		Streams: []grpc.StreamDesc{{StreamName: "Chat", ServerStreams: true, ClientStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error { return u.chat(ss) }}},
	}, struct{}{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(keepingListener{ln, u})
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return u
}

type keepingListener struct {
	net.Listener
	u *chatUpstream
}

func (l keepingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.u.mu.Lock()
		l.u.conns = append(l.u.conns, c)
		l.u.mu.Unlock()
	}
	return c, err
}

// breakConns closes every connection the upstream accepted, as a crash
// would.
func (u *chatUpstream) breakConns() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range u.conns {
		c.Close()
	}
}

func (u *chatUpstream) stream(n int) *chatStream {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n < 1 || n > len(u.streams) {
		return nil
	}
	return u.streams[n-1]
}

func (u *chatUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.streams)
}

func (u *chatUpstream) chat(ss grpc.ServerStream) error {
	s := &chatStream{ended: make(chan struct{}), replied: make(chan struct{}), changed: make(chan struct{})}
	defer close(s.ended)
	u.mu.Lock()
	u.streams = append(u.streams, s)
	n := len(u.streams)
	u.mu.Unlock()
	select {
	case u.arrived <- s:
	default: // nobody counts them (a benchmark)
	}
	var plan streamPlan
	if n <= len(u.plans) {
		plan = u.plans[n-1]
	}
	name := "s" + string(rune('0'+n))
	ss.SetTrailer(metadata.Pairs("x-chat-trailer", name))
	if plan.headerFirst {
		if err := ss.SendHeader(metadata.Pairs("x-chat-header", name)); err != nil {
			return err
		}
	}
	recv := func() (string, error) {
		m := new(wrapperspb.StringValue)
		if err := ss.RecvMsg(m); err != nil {
			if ss.Context().Err() != nil {
				s.mu.Lock()
				s.canceled = true
				s.mu.Unlock()
			}
			return "", err
		}
		s.mu.Lock()
		s.got = append(s.got, m.GetValue())
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		return m.GetValue(), nil
	}
	for i := 1; ; i++ {
		m, err := recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case plan.hang:
			continue
		case plan.failAfter > 0 && i == plan.failAfter:
			return status.Error(plan.failCode, name+" fails before answering")
		case plan.failAfter > 0:
			continue
		case i < plan.silentFor:
			continue
		}
		if err := ss.SendMsg(wrapperspb.String(name + ":" + m)); err != nil {
			return err
		}
		switch {
		case plan.failAfterReply > 0 && i == plan.failAfterReply:
			return status.Error(plan.failCode, name+" fails after answering")
		case plan.echoThenWait:
			close(s.replied)
			<-ss.Context().Done()
			return ss.Context().Err()
		}
	}
}

// chatClient opens a chat stream through the proxy at addr.
func chatClient(t *testing.T, addr string) (grpc.ClientStream, context.CancelFunc) {
	t.Helper()
	cc := grpcClient(t, addr, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	cs, err := cc.NewStream(ctx, chatDesc, chatMethod)
	if err != nil {
		t.Fatal(err)
	}
	return cs, cancel
}

func send(t *testing.T, cs grpc.ClientStream, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if err := cs.SendMsg(wrapperspb.String(m)); err != nil {
			t.Fatalf("send %q: %v", m, err)
		}
	}
}

func recvMsg(cs grpc.ClientStream) (string, error) {
	m := new(wrapperspb.StringValue)
	err := cs.RecvMsg(m)
	return m.GetValue(), err
}

func expectRecv(t *testing.T, cs grpc.ClientStream, want string) {
	t.Helper()
	got, err := recvMsg(cs)
	if err != nil || got != want {
		t.Fatalf("received %q, %v; want %q", got, status.Convert(err), want)
	}
}

// expectEnd reads the stream's end: its status and, on OK, nothing more.
func expectEnd(t *testing.T, cs grpc.ClientStream, code codes.Code, msg string) {
	t.Helper()
	got, err := recvMsg(cs)
	st := status.Convert(err)
	if code == codes.OK {
		if !errors.Is(err, io.EOF) {
			t.Fatalf("received %q, %v; want the end of the stream", got, st)
		}
		return
	}
	if st.Code() != code || !strings.Contains(st.Message(), msg) {
		t.Fatalf("received %q, status %v %q; want %v containing %q", got, st.Code(), st.Message(), code, msg)
	}
}

func sameMessages(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s received %q, want %q", what, got, want)
	}
}

func streamRetry(retryOn ...string) config.Policy {
	return config.Policy{Retry: config.RetryConfig{Attempts: 3, RetryOn: retryOn, BackoffBase: config.Duration(time.Millisecond)}}
}

// TestGRPCBidiRetryBeforeCommit: a bidirectional stream on a retrying
// route whose first try fails before answering (a trailers-only
// UNAVAILABLE after three messages) is retried transparently: the retry's
// stream gets the whole stream from its first message, the client sees
// only the retry's answers, then ping-pongs on it with trailers intact.
func TestGRPCBidiRetryBeforeCommit(t *testing.T) {
	up := startChatUpstream(t, streamPlan{failAfter: 3, failCode: codes.Unavailable})
	h := start(t, oneRoute(h2cCluster("up", up.addr), streamRetry("unavailable")))
	cs, _ := chatClient(t, h.addr)
	send(t, cs, "m1", "m2", "m3")
	expectRecv(t, cs, "s2:m1")
	expectRecv(t, cs, "s2:m2")
	expectRecv(t, cs, "s2:m3")
	send(t, cs, "m4")
	expectRecv(t, cs, "s2:m4")
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	expectEnd(t, cs, codes.OK, "")
	if v := cs.Trailer()["x-chat-trailer"]; len(v) != 1 || v[0] != "s2" {
		t.Errorf("trailers %v", cs.Trailer())
	}
	sameMessages(t, "the failed try", up.stream(1).messages(), "m1", "m2", "m3")
	sameMessages(t, "the retry", up.stream(2).messages(), "m1", "m2", "m3", "m4")
	if n := up.count(); n != 2 {
		t.Errorf("%d streams reached the upstream, want 2", n)
	}
}

// TestGRPCBidiResetBeforeCommit: the first try's connection breaks before
// it answered; the retry (on reset) replays the stream.
func TestGRPCBidiResetBeforeCommit(t *testing.T) {
	up := startChatUpstream(t, streamPlan{hang: true})
	h := start(t, oneRoute(h2cCluster("up", up.addr), streamRetry("reset")))
	cs, _ := chatClient(t, h.addr)
	send(t, cs, "m1", "m2")
	first := <-up.arrived
	waitMessages(t, first, 2)
	up.breakConns()
	expectRecv(t, cs, "s2:m1")
	expectRecv(t, cs, "s2:m2")
	send(t, cs, "m3")
	expectRecv(t, cs, "s2:m3")
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	expectEnd(t, cs, codes.OK, "")
	sameMessages(t, "the retry", up.stream(2).messages(), "m1", "m2", "m3")
}

// waitMessages waits until s has received n messages.
func waitMessages(t *testing.T, s *chatStream, n int) {
	t.Helper()
	for {
		s.mu.Lock()
		got, changed := len(s.got), s.changed
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-s.ended:
			t.Fatalf("the stream ended after %q", s.messages())
		}
	}
}

// TestGRPCBidiAfterCommit: once the answer's head went downstream the
// stream is committed: a failure in the trailers reaches the client as
// sent, and a broken upstream connection ends the stream with UNAVAILABLE;
// neither is retried although the route retries both.
func TestGRPCBidiAfterCommit(t *testing.T) {
	t.Run("status in trailers", func(t *testing.T) {
		up := startChatUpstream(t, streamPlan{failAfterReply: 1, failCode: codes.Unavailable})
		h := start(t, oneRoute(h2cCluster("up", up.addr), streamRetry("unavailable", "reset")))
		cs, _ := chatClient(t, h.addr)
		send(t, cs, "m1")
		expectRecv(t, cs, "s1:m1")
		expectEnd(t, cs, codes.Unavailable, "s1 fails after answering")
		if v := cs.Trailer()["x-chat-trailer"]; len(v) != 1 || v[0] != "s1" {
			t.Errorf("trailers %v", cs.Trailer())
		}
		if n := up.count(); n != 1 {
			t.Errorf("%d streams reached the upstream, want 1", n)
		}
	})
	t.Run("upstream dies", func(t *testing.T) {
		up := startChatUpstream(t, streamPlan{echoThenWait: true})
		h := start(t, oneRoute(h2cCluster("up", up.addr), streamRetry("unavailable", "reset")))
		cs, _ := chatClient(t, h.addr)
		send(t, cs, "m1")
		expectRecv(t, cs, "s1:m1")
		<-up.stream(1).replied
		up.breakConns()
		expectEnd(t, cs, codes.Unavailable, "upstream_reset")
		if n := up.count(); n != 1 {
			t.Errorf("%d streams reached the upstream, want 1", n)
		}
	})
	t.Run("route timeout", func(t *testing.T) {
		up := startChatUpstream(t, streamPlan{echoThenWait: true})
		pol := streamRetry("unavailable", "reset", "deadline-exceeded")
		pol.Timeout = config.Duration(200 * time.Millisecond)
		h := start(t, oneRoute(h2cCluster("up", up.addr), pol))
		cs, _ := chatClient(t, h.addr)
		send(t, cs, "m1")
		expectRecv(t, cs, "s1:m1")
		// The proxy's timer or the upstream's (it was sent the time left
		// in grpc-timeout) ends the stream first: DEADLINE_EXCEEDED from
		// either, in trailers.
		expectEnd(t, cs, codes.DeadlineExceeded, "")
		if n := up.count(); n != 1 {
			t.Errorf("%d streams reached the upstream, want 1", n)
		}
	})
}

// TestGRPCBidiOverflow: a stream that sends more than retry.bufferBytes
// before an answer is committed to its first try: that try's failure is
// the client's answer, not retried, and a stream that succeeds carries on
// past the limit.
func TestGRPCBidiOverflow(t *testing.T) {
	big := strings.Repeat("x", 100)
	pol := streamRetry("unavailable", "reset")
	pol.Retry.BufferBytes = 256
	t.Run("failure not retried", func(t *testing.T) {
		up := startChatUpstream(t, streamPlan{failAfter: 4, failCode: codes.Unavailable})
		h := start(t, oneRoute(h2cCluster("up", up.addr), pol))
		cs, _ := chatClient(t, h.addr)
		send(t, cs, big+"1", big+"2", big+"3", big+"4")
		expectEnd(t, cs, codes.Unavailable, "s1 fails before answering")
		if n := up.count(); n != 1 {
			t.Errorf("%d streams reached the upstream, want 1", n)
		}
		sameMessages(t, "the only try", up.stream(1).messages(), big+"1", big+"2", big+"3", big+"4")
		if n := metricValue(t, h.p, `meshbench_proxy_replay_overflows_total{cluster="up",route="r"}`); n != 1 {
			t.Errorf("replay overflows %v, want 1", n)
		}
	})
	t.Run("success past the limit", func(t *testing.T) {
		up := startChatUpstream(t)
		h := start(t, oneRoute(h2cCluster("up", up.addr), pol))
		cs, _ := chatClient(t, h.addr)
		for i := range 8 {
			m := big + string(rune('a'+i))
			send(t, cs, m)
			expectRecv(t, cs, "s1:"+m)
		}
		if err := cs.CloseSend(); err != nil {
			t.Fatal(err)
		}
		expectEnd(t, cs, codes.OK, "")
	})
}

// TestGRPCBidiHedge: on a hedging route a stream whose first try does not
// answer is hedged; the hedge gets the stream from its first message and
// wins, the first try is cancelled, and the client talks to the winner only.
func TestGRPCBidiHedge(t *testing.T) {
	up := startChatUpstream(t, streamPlan{hang: true})
	h := start(t, oneRoute(h2cCluster("up", up.addr),
		config.Policy{Hedge: config.HedgeConfig{Delay: config.Duration(10 * time.Millisecond), MaxHedges: 1}}))
	cs, _ := chatClient(t, h.addr)
	send(t, cs, "m1")
	expectRecv(t, cs, "s2:m1")
	first := up.stream(1)
	<-first.ended // the loser is cancelled
	send(t, cs, "m2")
	expectRecv(t, cs, "s2:m2")
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	expectEnd(t, cs, codes.OK, "")
	sameMessages(t, "the losing try", first.messages(), "m1")
	sameMessages(t, "the hedge", up.stream(2).messages(), "m1", "m2")
	if n := up.count(); n != 2 {
		t.Errorf("%d streams reached the upstream, want 2", n)
	}
}

// TestGRPCStreamHeaderFirst: a server that sends its header metadata before
// any message, to a client that waits for it before it sends, gets it
// through the proxy at once (the answer's head is flushed), on a plain
// route and on a retrying one, where the head commits the stream.
func TestGRPCStreamHeaderFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		pol  config.Policy
	}{{"plain", config.Policy{}}, {"retrying", streamRetry("unavailable", "reset")}} {
		t.Run(tc.name, func(t *testing.T) {
			up := startChatUpstream(t, streamPlan{headerFirst: true})
			h := start(t, oneRoute(h2cCluster("up", up.addr), tc.pol))
			cs, _ := chatClient(t, h.addr)
			md, err := cs.Header()
			if err != nil {
				t.Fatal(err)
			}
			if v := md["x-chat-header"]; len(v) != 1 || v[0] != "s1" {
				t.Fatalf("header %v", md)
			}
			send(t, cs, "m1")
			expectRecv(t, cs, "s1:m1")
			if err := cs.CloseSend(); err != nil {
				t.Fatal(err)
			}
			expectEnd(t, cs, codes.OK, "")
		})
	}
}

// TestGRPCBidiHedgeOverflow: a hedged stream that outgrows the replay
// buffer while both copies are out is committed to the copy that took it
// past the limit; the other is cancelled and the client talks to the one
// left.
func TestGRPCBidiHedgeOverflow(t *testing.T) {
	big := strings.Repeat("y", 200)
	up := startChatUpstream(t, streamPlan{silentFor: 3}, streamPlan{silentFor: 3})
	pol := config.Policy{Hedge: config.HedgeConfig{Delay: config.Duration(10 * time.Millisecond), MaxHedges: 1}}
	pol.Retry.BufferBytes = 256
	h := start(t, oneRoute(h2cCluster("up", up.addr), pol))
	cs, _ := chatClient(t, h.addr)
	send(t, cs, "m1")
	s1, s2 := <-up.arrived, <-up.arrived // the hedge goes out as nothing answers
	waitMessages(t, s1, 1)
	waitMessages(t, s2, 1)
	send(t, cs, big+"2", big+"3")
	var kept, lost *chatStream
	select {
	case <-s1.ended:
		kept, lost = s2, s1
	case <-s2.ended:
		kept, lost = s1, s2
	}
	name := "s1"
	if kept == s2 {
		name = "s2"
	}
	expectRecv(t, cs, name+":"+big+"3")
	send(t, cs, "m4")
	expectRecv(t, cs, name+":m4")
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	expectEnd(t, cs, codes.OK, "")
	sameMessages(t, "the stream kept", kept.messages(), "m1", big+"2", big+"3", "m4")
	if got := lost.messages(); len(got) == 4 {
		t.Errorf("the cancelled copy got the whole stream %q", got)
	}
	if n := up.count(); n != 2 {
		t.Errorf("%d streams reached the upstream, want 2", n)
	}
}

// BenchmarkGRPCBidi sends messages back and forth on one bidirectional
// stream through the proxy, on a plain route and on a retrying one (the
// stream goes through the replay buffer and is committed to its try by
// its first answer).
func BenchmarkGRPCBidi(b *testing.B) {
	up := startChatUpstream(b)
	for _, bc := range []struct {
		name string
		pol  config.Policy
	}{{"plain", config.Policy{}}, {"retrying", config.Policy{Retry: config.RetryConfig{Attempts: 2, RetryOn: []string{"unavailable"}}}}} {
		b.Run(bc.name, func(b *testing.B) {
			h := start(b, oneRoute(h2cCluster("up", up.addr), bc.pol))
			cc := grpcClient(b, h.addr, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cs, err := cc.NewStream(ctx, chatDesc, chatMethod)
			if err != nil {
				b.Fatal(err)
			}
			msg, out := wrapperspb.String("ping"), new(wrapperspb.StringValue)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := cs.SendMsg(msg); err != nil {
					b.Fatal(err)
				}
				if err := cs.RecvMsg(out); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := cs.CloseSend(); err != nil {
				b.Fatal(err)
			}
			if err := cs.RecvMsg(out); err != io.EOF {
				b.Fatal(err)
			}
		})
	}
}

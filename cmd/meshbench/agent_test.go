package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAgentCommandServes starts `meshbench agent` on a free loopback port,
// checks its health endpoint, and stops it by cancelling its context (as
// SIGTERM does): it exits 0.
func TestAgentCommandServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- execute(ctx, []string{"agent", "--listen", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	addr := strings.TrimSpace(strings.TrimPrefix(line, "meshbench agent listening on "))
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("healthz: %s %q", resp.Status, body)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if c := <-code; c != exitOK {
		t.Errorf("exit code %d, want 0", c)
	}
}

func TestAgentCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"agent"}, {"agent", "--listen", "not an address"}} {
		if c := execute(context.Background(), args, io.Discard, io.Discard); c != exitUsage {
			t.Errorf("%v: exit code %d, want %d", args, c, exitUsage)
		}
	}
}

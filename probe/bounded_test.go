package probe

import (
	"bytes"
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/unit"
)

// flood answers whatever comes with up to 100 MB of prefix followed by
// filler bytes, and stops when the client goes away.
func flood(prefix string, filler byte) func(net.Conn) {
	return func(c net.Conn) {
		go io.Copy(io.Discard, c)
		chunk := bytes.Repeat([]byte{filler}, 64<<10)
		if _, err := io.WriteString(c, prefix); err != nil {
			return
		}
		for sent := 0; sent < 100<<20; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}
}

// TestProbeReadsAreBounded floods probes with 100 MB replies: each must end
// on its read bound (a mismatch, well before its hour-long timeout) having
// allocated far less than the flood.
func TestProbeReadsAreBounded(t *testing.T) {
	tests := []struct {
		name string
		kind unit.Kind
		h    func(net.Conn)
		want string
	}{
		{"http status line without newline", unit.KindHTTP, flood("", 'x'), "no end of headers"},
		{"http endless headers", unit.KindHTTP, flood("HTTP/1.1 200 OK\r\n", 'h'), "no end of headers"},
		{"http endless body", unit.KindHTTP, flood("HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n", 'b'), ""},
		{"http endless chunked body", unit.KindHTTP, flood("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6400000\r\n", 'b'), ""},
		{"echo flood", unit.KindEcho, flood("", 'e'), "sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := serveStream(t, "tcp4", "Stream", tt.h)
			p := &Prober{Timeout: time.Hour}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := p.Probe(context.Background(), target(l, tt.kind))
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			if alloc > 64<<20 {
				t.Errorf("probe allocated %d MiB for a 100 MB flood, want under 64 MiB", alloc>>20)
			}
			if tt.want == "" {
				if r.Outcome != OK {
					t.Fatalf("got %s %q, want ok (the status line is an answer)", r.Outcome, r.Error)
				}
			} else if r.Outcome != Mismatch || !strings.Contains(r.Error, tt.want) {
				t.Fatalf("got %s %q, want a mismatch saying %q", r.Outcome, r.Error, tt.want)
			}
			if r.Bytes > 1<<20 {
				t.Errorf("read %d bytes of the flood, want a bounded amount", r.Bytes)
			}
			if len(r.Error) > maxErrorText || len(r.Status) > maxStatusText {
				t.Errorf("error of %d bytes, status of %d: want them cut", len(r.Error), len(r.Status))
			}
		})
	}
}

func TestProbeStatusAndErrorAreCut(t *testing.T) {
	long := "HTTP/1.1 200 " + strings.Repeat("é", 4000) + "\r\n\r\n"
	l := serveStream(t, "tcp4", "Stream", func(c net.Conn) {
		io.WriteString(c, long)
		io.Copy(io.Discard, c)
	})
	r := (&Prober{}).Probe(context.Background(), target(l, unit.KindHTTP))
	if r.Outcome != OK {
		t.Fatalf("got %s %q", r.Outcome, r.Error)
	}
	if len(r.Status) > maxStatusText || !strings.HasSuffix(r.Status, "...") || !strings.HasPrefix(r.Status, "HTTP/1.1 200 é") {
		t.Fatalf("status %q (%d bytes): want it cut to %d bytes", r.Status, len(r.Status), maxStatusText)
	}
	for _, c := range r.Status {
		if c == '\uFFFD' {
			t.Fatalf("status cut inside a rune: %q", r.Status)
		}
	}
}

func TestShortenText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg..."},
		{"ééééé", 8, "éé..."}, // 10 bytes; a cut inside é moves back
	}
	for _, tt := range tests {
		if got := shortenText(tt.in, tt.n); got != tt.want {
			t.Errorf("shortenText(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

package unit

import (
	"errors"
	"strings"
	"testing"
)

func TestParseListenSpec(t *testing.T) {
	for spec, want := range map[string]Listen{
		"tcp:127.0.0.1:3000":     {TypeStream, "127.0.0.1:3000"},
		"tcp:[::1]:3000":         {TypeStream, "[::1]:3000"},
		"tcp:3000":               {TypeStream, "3000"},
		"udp:127.0.0.1:53":       {TypeDatagram, "127.0.0.1:53"},
		"udp:[::1]:53":           {TypeDatagram, "[::1]:53"},
		"unix:%h/echo.sock":      {TypeStream, "%h/echo.sock"},
		"unix:%t/a%%b.sock":      {TypeStream, "%t/a%%b.sock"},
		"unix:/run/echo.sock":    {TypeStream, "/run/echo.sock"},
		"unix:@abstract":         {TypeStream, "@abstract"},
		"unixgram:/run/e.dgram":  {TypeDatagram, "/run/e.dgram"},
		"seqpacket:%h/e.seq":     {TypeSeqPacket, "%h/e.seq"},
		"vsock::3000":            {TypeStream, "vsock::3000"},
		"vsock:4294967295:3000":  {TypeStream, "vsock:4294967295:3000"},
		"unix:/run/caf\u00e9.so": {TypeStream, "/run/caf\u00e9.so"},
	} {
		got, err := ParseListenSpec(spec)
		if err != nil || got != want {
			t.Errorf("ParseListenSpec(%q) = %+v, %v; want %+v", spec, got, err, want)
			continue
		}
		if back := got.Spec(); back != spec {
			t.Errorf("%+v.Spec() = %q, want %q", got, back, spec)
		}
	}
	for spec, says := range map[string]string{
		"":                                  "want tcp:",
		"127.0.0.1:3000":                    "want tcp:",
		"sctp:127.0.0.1:1":                  "want tcp:",
		"tcp:":                              "empty address",
		"tcp:127.0.0.1":                     "port",
		"tcp:127.0.0.1:0":                   "out of range",
		"tcp:127.0.0.1:70000":               "out of range",
		"tcp:::1:3000":                      "without brackets",
		"tcp:localhost:3000":                "not a numeric IP address",
		"tcp:/run/x.sock":                   "takes an IP address",
		"udp:vsock::1":                      "takes an IP address",
		"tcp:[fe80::1%lo]:1":                "zone",
		"unix:relative.sock":                "must be absolute",
		"unix:%n/x.sock":                    "must be absolute",
		"unix:%hx.sock":                     "want a / after %h",
		"unix:/run/%z.sock":                 "not a systemd specifier",
		"unix:/run/a\\b":                    "backslash",
		"unix:/run/a\nb":                    "control character",
		"unix:@":                            "empty abstract name",
		"unix:/" + strings.Repeat("x", 120): "longer than",
		"vsock:3000":                        "without a port",
		"vsock:x:3000":                      "vsock CID",
		"vsock::port":                       "vsock port",
	} {
		_, err := ParseListenSpec(spec)
		if !errors.Is(err, ErrBadListen) || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseListenSpec(%q) = %v, want ErrBadListen saying %q", spec, err, says)
		}
	}
}

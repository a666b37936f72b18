package echo_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// BenchmarkPublishedThroughputTrixie measures, on Debian 13's Podman 5.4
// (sandbox.StackTrixie), one TCP connection echoing 512 MiB in 64 KiB
// writes: the socket-activated echo container (the kernel's socket, no
// network stack between), and the same image run rootless behind a
// published port through pasta (Podman 5's default network for rootless
// containers; Podman 5.4 refuses it for rootful ones) and through
// slirp4netns (Podman 4's default), in rotating order, medians of several
// rounds.
//
//	go test -run '^$' -bench PublishedThroughputTrixie -benchtime 1x ./workloads/echo/
func BenchmarkPublishedThroughputTrixie(b *testing.B) {
	s := sandboxtest.Trixie().Start(b)
	bin := testbin.Build(b, "workloads/echo/cmd/socktui-echo")
	tag := echotest.Image(b, s, bin, "trixie-bench")

	act := installCold(b, s, echo.Spec{Mode: echo.ModeContainer, Image: tag, RuntimeDir: s.RuntimeDir})
	echotest.Echoes(b, act.addr, "warm up\n") // activated once: the rounds measure the stream only
	u := stackUser(b, s, tag)
	pasta := u.publish(b, "pasta")
	slirp := u.publish(b, "slirp4netns")

	targets := []struct {
		name string
		addr string
		mbs  []float64
	}{{name: "activated", addr: act.addr}, {name: "pasta", addr: pasta}, {name: "slirp4netns", addr: slirp}}
	const rounds = 5 // the machine is shared: medians of several
	for b.Loop() {
		for r := range rounds {
			for i := range targets {
				tg := &targets[(r+i)%len(targets)]
				d := throughputNoHalfClose(b, tg.addr, rootlessStreamBytes)
				tg.mbs = append(tg.mbs, float64(rootlessStreamBytes)/d.Seconds()/1e6)
			}
		}
	}
	med := map[string]float64{}
	for _, tg := range targets {
		m := slices.Clone(tg.mbs)
		slices.Sort(m)
		med[tg.name] = m[len(m)/2]
		b.Logf("%s %s: %.0f MB/s (rounds %.0f)", tg.name, tg.addr, med[tg.name], tg.mbs)
	}
	b.ReportMetric(0, "ns/op")
	for _, n := range []string{"activated", "pasta", "slirp4netns"} {
		b.ReportMetric(med[n], n+"-MB/s")
	}
	b.ReportMetric(med["pasta"]/med["activated"], "pasta/activated")
	b.ReportMetric(med["slirp4netns"]/med["activated"], "slirp4netns/activated")
	b.ReportMetric(med["pasta"]/med["slirp4netns"], "pasta/slirp4netns")
}

// throughputNoHalfClose is throughput without the half-close at the end:
// it reads the echo until all n bytes are back. pasta closed a connection
// whose client had half-closed it before every byte of the echo came back
// (seen: 533096034 of 536870912 bytes), which says nothing of its speed.
func throughputNoHalfClose(b *testing.B, addr string, n int) time.Duration {
	b.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	begin := time.Now()
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, chunk)
		for sent := 0; sent < n; sent += chunk {
			if _, err := c.Write(buf); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, chunk)
	got := 0
	for got < n {
		m, err := c.Read(buf)
		got += m
		if err != nil {
			b.Fatalf("reading the echo from %s after %d of %d bytes: %v", addr, got, n, err)
		}
	}
	elapsed := time.Since(begin)
	if err := <-errc; err != nil {
		b.Fatalf("writing: %v", err)
	}
	return elapsed
}

// inStackUser is an unprivileged user of a trixie sandbox's root
// filesystem (its overlay: nothing of it reaches the host's user
// database), with rootless Podman and the echo image in its storage.
type inStackUser struct {
	s     *sandbox.Sandbox
	image string
	env   []string // for env(1): HOME, XDG_RUNTIME_DIR, CONTAINERS_CONF of its own
	uid   string
}

// stackUser makes the user socktui-bench in s's root, with subordinate IDs,
// a runtime folder, s's containers.conf and image of its own.
func stackUser(b *testing.B, s *sandbox.Sandbox, image string) *inStackUser {
	b.Helper()
	const name, home = "socktui-bench", "/home/socktui-bench"
	run := func(args ...string) string {
		b.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := s.Command(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			b.Fatalf("%v in the stack: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("sh", "-c", `touch /etc/subuid /etc/subgid && useradd -m -U "$0"`, name)
	uid := run("id", "-u", name)
	uid = uid[:len(uid)-1]
	xdg := "/run/user/" + uid
	conf := home + "/.config/containers/containers.conf"
	// The user's storage is on the root's overlay, which cannot hold
	// overlay layers: vfs (the echo image is one small layer).
	run("sh", "-c", `mkdir -p -m 0700 "$1" "$(dirname "$2")" && cp "$3" "$2" &&
		printf '[storage]\ndriver = "vfs"\n' >"$(dirname "$2")/storage.conf" && chown -R "$0:$0" "$1" "$4"`,
		name, xdg, conf, s.ContainersConfPath, home)
	u := &inStackUser{s: s, image: image, uid: uid,
		env: []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + xdg, "CONTAINERS_CONF=" + conf, "USER=" + name}}
	archive := "/var/tmp/socktui-bench-image.tar"
	run("podman", "save", "-q", "-o", archive, image)
	run("chmod", "0644", archive)
	u.podman(b, "load", "-q", "-i", archive)
	return u
}

// podman runs `podman ARGS` as the user and returns its output.
func (u *inStackUser) podman(b *testing.B, args ...string) string {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{"--reuid=" + u.uid, "--regid=" + u.uid, "--init-groups", "env"}, u.env...)
	out, err := u.s.Command(ctx, "setpriv", append(append(argv, "podman"), args...)...).CombinedOutput()
	if err != nil {
		b.Fatalf("podman %v as the stack's user: %v\n%s", args, err, out)
	}
	return string(out)
}

// publish runs the echo image as the user behind 127.0.0.1:PORT through
// network, until b ends, and returns the address once it answers there.
func (u *inStackUser) publish(b *testing.B, network string) string {
	b.Helper()
	port := sandboxtest.FreePort(b)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	name := fmt.Sprintf("socktui-echo-%s-%d", network, port)
	u.podman(b, "run", "-d", "--rm", "--pull=never", "--name", name, "--network", network,
		"-p", addr+":3000", u.image, "--listen", "tcp:0.0.0.0:3000")
	b.Cleanup(func() { u.podman(b, "rm", "-f", "-t", "2", "--ignore", name) })
	deadline := time.Now().Add(time.Minute)
	for {
		// The port handler accepts before the server listens: wait for
		// an answer, not a connection.
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			if _, err = c.Write([]byte{'x'}); err == nil {
				_, err = io.ReadFull(c, make([]byte, 1))
			}
			c.Close()
			if err == nil {
				return addr
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("the %s container never answered on %s: %v\n%s", network, addr, err, u.podman(b, "logs", name))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

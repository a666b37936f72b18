package cputime

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestSelfAndProcessCountWork spins until Self has counted 100 ms of CPU
// (a shared machine may stretch that in wall time) and wants Process, read
// from another source, to have counted about as much.
func TestSelfAndProcessCountWork(t *testing.T) {
	self0 := Self()
	proc0, err := Process(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for x := 0; Self()-self0 < 100*time.Millisecond; x++ {
		if time.Now().After(deadline) {
			t.Fatalf("10 s of spinning counted %v of CPU", Self()-self0)
		}
	}
	selfD := Self() - self0
	proc1, err := Process(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := proc1 - proc0; d < selfD*8/10 || d > selfD*3 {
		t.Errorf("Process counted %v while Self counted %v", d, selfD)
	}
}

func TestProcessOfAnIdleChild(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	c0, err := Process(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	c1, err := Process(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if d := c1 - c0; d > 20*time.Millisecond {
		t.Errorf("a sleeping process used %v of CPU in 100 ms", d)
	}
}

func TestProcessOfNothing(t *testing.T) {
	if _, err := Process(1 << 30); err == nil {
		t.Error("Process of a PID that cannot exist: no error")
	}
}

package sandboxtest

import (
	"slices"
	"testing"
)

func TestCgroupMoves(t *testing.T) {
	base := "13:net_cls,net_prio:/\n9:name=systemd:/\n4:memory:/\n0::/\n"
	for _, tc := range []struct {
		name, after string
		want        []string
	}{
		{"same", base, nil},
		{"a hierarchy vanished", "9:name=systemd:/\n4:memory:/\n0::/\n", nil},
		{"a hierarchy appeared, renumbered", "14:perf_event:/\n13:net_cls,net_prio:/\n9:name=systemd:/\n4:memory:/\n0::/\n", nil},
		{"moved in v1", "13:net_cls,net_prio:/\n9:name=systemd:/\n4:memory:/runtime\n0::/\n", []string{"memory: / -> /runtime"}},
		{"moved in v2 and systemd", "9:name=systemd:/init.scope\n4:memory:/\n0::/x\n", []string{"name=systemd: / -> /init.scope", "unified: / -> /x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cgroupMoves(base, tc.after); !slices.Equal(got, tc.want) {
				t.Errorf("cgroupMoves = %q, want %q", got, tc.want)
			}
		})
	}
}

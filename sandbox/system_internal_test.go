package sandbox

import "testing"

// TestMaskProcCgroups: the namespace's /proc/cgroups disables exactly the
// controllers with no mounted hierarchy, so that systemd mounts none.
func TestMaskProcCgroups(t *testing.T) {
	in := "#subsys_name\thierarchy\tnum_cgroups\tenabled\n" +
		"cpuset\t3\t6\t1\n" +
		"net_cls\t0\t10\t1\n" +
		"hugetlb\t0 10 1\n" +
		"memory\t4\t457\t0\n"
	for _, tc := range []struct {
		name    string
		mounted map[string]bool
		want    string
	}{
		{"the unmounted ones disabled", map[string]bool{"cpuset": true, "memory": true},
			"#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t6\t1\nnet_cls\t0\t10\t0\nhugetlb\t0\t10\t0\nmemory\t4\t457\t0\n"},
		{"nothing mounted", nil,
			"#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t6\t0\nnet_cls\t0\t10\t0\nhugetlb\t0\t10\t0\nmemory\t4\t457\t0\n"},
		{"all mounted", map[string]bool{"cpuset": true, "net_cls": true, "hugetlb": true, "memory": true},
			"#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t6\t1\nnet_cls\t0\t10\t1\nhugetlb\t0\t10\t1\nmemory\t4\t457\t0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(maskProcCgroups([]byte(in), tc.mounted)); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

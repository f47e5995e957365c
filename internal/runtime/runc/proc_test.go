package runc

import (
	"os"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	for _, tc := range []struct {
		line  string
		start uint64
		state string
		bad   bool
	}{
		{line: "1234 (sleep) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1200000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n", start: 987654, state: "S"},
		{line: "7 (a) b) (c) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0\n", start: 42, state: "Z"},
		{line: "7 (x) R 1 2 3", bad: true},
		{line: "no parens at all", bad: true},
	} {
		start, state, err := parseProcStat([]byte(tc.line), 7)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error", tc.line)
			}
			continue
		}
		if err != nil || start != tc.start || state != tc.state {
			t.Errorf("%q: %d %q %v; want %d %q", tc.line, start, state, err, tc.start, tc.state)
		}
	}
}

func TestProcStatSelf(t *testing.T) {
	start, state, err := procStat(os.Getpid())
	if err != nil || start == 0 || state != "R" && state != "S" {
		t.Fatalf("procStat(self) = %d %q %v", start, state, err)
	}
	if _, _, err := procStat(1 << 30); !os.IsNotExist(err) {
		t.Fatalf("procStat of a missing pid: %v, want not-exist", err)
	}
}

func BenchmarkProcStat(b *testing.B) {
	pid := os.Getpid()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := procStat(pid); err != nil {
			b.Fatal(err)
		}
	}
}

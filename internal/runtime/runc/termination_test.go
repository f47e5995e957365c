package runc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// TestTerminationMessageKeepsTail: an oversized termination message file
// gives its last 4096 bytes, as the kubelet's tail.ReadAtMost does.
func TestTerminationMessageKeepsTail(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "termination-log")
	for _, tc := range []struct{ file, want string }{
		{strings.Repeat("x", 100) + strings.Repeat("y", 4096), strings.Repeat("y", 4096)},
		{strings.Repeat("x", 1) + strings.Repeat("y", 4095), strings.Repeat("x", 1) + strings.Repeat("y", 4095)},
		{"short\n", "short\n"},
		{"", ""},
	} {
		if err := os.WriteFile(p, []byte(tc.file), 0o644); err != nil {
			t.Fatal(err)
		}
		got := terminationMessage(containerMeta{}, dir, 1)
		if got != tc.want {
			t.Errorf("%d-byte file: got %d bytes starting %.10q, want %d bytes starting %.10q", len(tc.file), len(got), got, len(tc.want), tc.want)
		}
	}
	if got := terminationMessage(containerMeta{}, filepath.Join(dir, "missing"), 1); got != "" {
		t.Errorf("missing file: %q", got)
	}
}

// TestTerminationMessageFallbackToLogs: with FallbackToLogsOnError, an
// empty termination message file and an error exit, the message is the
// log tail, newline included (`echo boom; exit 1` gives "boom\n").
func TestTerminationMessageFallbackToLogs(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "0.log")
	os.WriteFile(filepath.Join(dir, "termination-log"), nil, 0o644)
	os.WriteFile(logPath, []byte("2026-11-25T00:10:11.717381093+00:00 stdout F boom\n"), 0o644)
	m := containerMeta{LogPath: logPath, TermPolicy: string(v1.TerminationMessageFallbackToLogsOnError)}
	if got := terminationMessage(m, dir, 1); got != "boom\n" {
		t.Errorf("exit 1: %q, want %q", got, "boom\n")
	}
	if got := terminationMessage(m, dir, 0); got != "" {
		t.Errorf("exit 0: %q, want none", got)
	}
}

// TestLogTailLikeKubelet checks logTail against what the kubelet's
// readLastStringFromContainerLogs gives for the same CRI log.
func TestLogTailLikeKubelet(t *testing.T) {
	const ts = "2026-11-25T00:10:11.717381093+00:00 "
	var numbered strings.Builder
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&numbered, "%sstdout F %d\n", ts, i)
	}
	var want80 strings.Builder
	for i := 21; i <= 100; i++ {
		fmt.Fprintf(&want80, "%d\n", i)
	}
	long := strings.Repeat("z", 3000)
	for _, tc := range []struct {
		name, log string
		lines     int
		bytes     int
		want      string
	}{
		{"full line keeps its newline", ts + "stdout F boom\n", 80, 2048, "boom\n"},
		{"empty line", ts + "stdout F \n" + ts + "stdout F x\n", 80, 2048, "\nx\n"},
		{"partial line at exit has none", ts + "stdout P boom\n", 80, 2048, "boom"},
		{"partial then full joins", ts + "stderr P part-\n" + ts + "stderr F ial\n", 80, 2048, "part-ial\n"},
		{"stdout and stderr in file order", ts + "stdout F out\n" + ts + "stderr F err\n" + ts + "stdout F out2\n", 80, 2048, "out\nerr\nout2\n"},
		{"spaces in content", ts + "stdout F with spaces in it\n", 80, 2048, "with spaces in it\n"},
		{"last 80 lines", numbered.String(), 80, 2048, want80.String()},
		// Lines are the log file's: a partial record counts as one.
		{"partial records count as lines", ts + "stdout F a\n" + ts + "stdout P b\n" + ts + "stdout F c\n", 2, 2048, "bc\n"},
		// Records that do not parse are skipped and not counted, but
		// were counted when finding where the last lines start.
		{"bad records skipped", ts + "stdout F a\n" + ts + "stdout F b\n" + ts + "stdout F d\n" + "garbage in here\n" + ts + "stdin F x\n" + "notatime stdout F y\n" + ts + "stdout F c\n", 5, 2048, "d\nc\n"},
		{"unterminated last record", ts + "stdout F a\n" + ts + "stdout F b", 80, 2048, "a\nb"},
		{"unterminated last record beyond the limit", ts + "stdout F a\n" + ts + "stdout F b\n" + ts + "stdout F c", 2, 2048, "a\nb\n"},
		{"last bytes", ts + "stdout F with spaces in it\n", 80, 10, "ces in it\n"},
		{"last bytes across lines", ts + "stdout F " + long + "\n" + ts + "stderr F end\n", 80, 2048, strings.Repeat("z", 2048-5) + "\nend\n"},
		{"empty log", "", 80, 2048, ""},
	} {
		p := filepath.Join(t.TempDir(), "0.log")
		if err := os.WriteFile(p, []byte(tc.log), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := logTail(p, tc.lines, tc.bytes); got != tc.want {
			t.Errorf("%s: logTail = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := logTail(filepath.Join(t.TempDir(), "missing"), 80, 2048); got != "" {
		t.Errorf("missing file: %q", got)
	}
}

// TestLogTailLongLog: the last lines are found however far back they
// start (the kubelet scans back in blocks; conmon splits long lines into
// partial records of up to 8 KiB).
func TestLogTailLongLog(t *testing.T) {
	const ts = "2026-11-25T00:10:11.717381093+00:00 "
	var b strings.Builder
	b.WriteString(ts + "stdout F first\n")
	b.WriteString(ts + "stdout P " + strings.Repeat("p", 100<<10) + "\n")
	b.WriteString(ts + "stdout F last\n")
	p := filepath.Join(t.TempDir(), "0.log")
	os.WriteFile(p, []byte(b.String()), 0o644)
	if got, want := logTail(p, 2, 1<<20), strings.Repeat("p", 100<<10)+"last\n"; got != want {
		t.Errorf("logTail = %d bytes, want %d", len(got), len(want))
	}
	if got, want := logTail(p, 3, 1<<20), "first\n"+strings.Repeat("p", 100<<10)+"last\n"; got != want {
		t.Errorf("logTail = %d bytes, want %d", len(got), len(want))
	}
}

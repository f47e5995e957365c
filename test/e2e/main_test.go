// Package e2e runs the real thing: the peapod binary, etcd, runc, conmon,
// CNI, kubectl and client-go. The tests need root; without it they skip.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

var (
	// peapodBin is the binary under test, built once by TestMain.
	peapodBin string
	repoRoot  string
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("e2e: not root, skipping end-to-end tests")
		os.Exit(0)
	}
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	tmp, err := os.MkdirTemp("", "peapod-e2e-bin-")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	peapodBin = filepath.Join(tmp, "peapod")
	build := exec.Command("go", "build", "-o", peapodBin, "./cmd/peapod")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Println("e2e: building peapod:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	if busyboxTar != "" {
		os.RemoveAll(filepath.Dir(busyboxTar))
	}
	os.Exit(code)
}

var (
	busyboxOnce sync.Once
	busyboxTar  string
	busyboxErr  error
)

// busyboxImage returns the path of a docker-archive of Debian's
// busybox-static tagged docker.io/library/busybox:latest, built once.
func busyboxImage(t *testing.T) string {
	t.Helper()
	busyboxOnce.Do(func() {
		dir, err := os.MkdirTemp("", "peapod-e2e-img-")
		if err != nil {
			busyboxErr = err
			return
		}
		busyboxTar = filepath.Join(dir, "busybox.tar")
		cmd := exec.Command(filepath.Join(repoRoot, "hack", "build-busybox-image.sh"), busyboxTar)
		out, err := cmd.CombinedOutput()
		if err != nil {
			busyboxErr = fmt.Errorf("build-busybox-image.sh: %v\n%s", err, out)
		}
	})
	if busyboxErr != nil {
		t.Fatal(busyboxErr)
	}
	return busyboxTar
}

// run runs a command and fails the test with its output on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestVersion(t *testing.T) {
	out := run(t, peapodBin, "version")
	if len(out) == 0 {
		t.Fatal("peapod version printed nothing")
	}
}

// eventually polls cond every 100 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, last := cond()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

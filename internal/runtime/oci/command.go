package oci

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoCommand is returned when neither the container nor the image names
// a command.
var ErrNoCommand = errors.New("no command specified")

// Argv is the process argv from the image's entrypoint/cmd and the
// container's command/args, as Kubernetes defines it: command replaces the
// entrypoint and drops the image cmd; args alone replace the image cmd.
// command and args must already be expanded.
func Argv(entrypoint, cmd, command, args []string) ([]string, error) {
	var argv []string
	switch {
	case len(command) > 0:
		argv = append(append(argv, command...), args...)
	case len(args) > 0:
		argv = append(append(argv, entrypoint...), args...)
	default:
		argv = append(append(argv, entrypoint...), cmd...)
	}
	if len(argv) == 0 {
		return nil, ErrNoCommand
	}
	return argv, nil
}

// signals are the names a STOPSIGNAL may use.
var signals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
	"FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
	"TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21,
	"TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28,
	"IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}

// ParseSignal parses an image STOPSIGNAL ("SIGTERM", "TERM", "15",
// "SIGRTMIN+3"); empty means SIGTERM.
func ParseSignal(s string) (int, error) {
	if s == "" {
		return 15, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal %d out of range", n)
		}
		return n, nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if n, ok := signals[name]; ok {
		return n, nil
	}
	if rest, ok := strings.CutPrefix(name, "RTMIN+"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && 34+n <= 64 {
			return 34 + n, nil
		}
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

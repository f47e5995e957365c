package runc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// conmonSpec is one container to create under its own conmon.
type conmonSpec struct {
	ID   string
	Name string
	// Bundle holds config.json; it is also conmon's persist dir (exit,
	// oom files) and where conmon puts the ctl/winsz fifos and the attach
	// socket.
	Bundle  string
	LogPath string
	Stdin   bool
	TTY     bool
}

// createError is runc create's failure as conmon reported it.
type createError struct{ msg string }

func (e *createError) Error() string { return e.msg }

// conmonCreate launches conmon, which runs `runc create` and stays as the
// container's monitor (reparented to PID 1). It returns the container's
// init PID. The handshake (RECIPES.md §2): conmon reads one byte from the
// start pipe before forking, then reports {"data": pid} (or -1 and
// runc's message) on the sync pipe.
func (d *Driver) conmonCreate(_ context.Context, s conmonSpec) (int, error) {
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer syncR.Close()
	startR, startW, err := os.Pipe()
	if err != nil {
		syncW.Close()
		return 0, err
	}
	defer startW.Close()

	args := []string{
		"--api-version", "1",
		"-c", s.ID, "-u", s.ID, "-n", s.Name,
		"-r", d.cfg.RuncPath,
		"-b", s.Bundle,
		"-p", filepath.Join(s.Bundle, "pidfile"),
		"-P", filepath.Join(s.Bundle, "conmon.pid"),
		"-l", "k8s-file:" + s.LogPath,
		"--exit-dir", d.dirs.exits,
		"-0", s.Bundle,
		"--socket-dir-path", d.dirs.socks,
		"--log-level", "error",
		"--runtime-arg", "--root", "--runtime-arg", d.dirs.runcRoot,
	}
	if s.Stdin {
		args = append(args, "-i")
	}
	if s.TTY {
		args = append(args, "-t")
	}
	cmd := exec.Command(d.cfg.ConmonPath, args...)
	cmd.Dir = s.Bundle
	cmd.ExtraFiles = []*os.File{syncW, startR}
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"_OCI_SYNCPIPE=3", "_OCI_STARTPIPE=4",
		runcGOMAXPROCS, // conmon passes it to runc create, which passes it to runc init
	}
	if err := cmd.Start(); err != nil {
		syncW.Close()
		startR.Close()
		return 0, fmt.Errorf("starting conmon: %w", err)
	}
	syncW.Close()
	startR.Close()
	if _, err := startW.Write([]byte{0}); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, fmt.Errorf("conmon start pipe: %w", err)
	}
	startW.Close()
	waitErr := cmd.Wait()

	type reply struct {
		Data    int    `json:"data"`
		Message string `json:"message"`
	}
	done := make(chan struct {
		r   reply
		err error
	}, 1)
	go func() {
		line, err := bufio.NewReader(syncR).ReadBytes('\n')
		var r reply
		if len(line) > 0 {
			err = json.Unmarshal(line, &r)
		} else if err == nil {
			err = fmt.Errorf("empty reply")
		}
		done <- struct {
			r   reply
			err error
		}{r, err}
	}()
	var res struct {
		r   reply
		err error
	}
	// ctx is not watched here: runc create is short and bounded, and
	// returning before it ends would leave a container nobody cleans up.
	select {
	case res = <-done:
	case <-time.After(2 * time.Minute):
		return 0, fmt.Errorf("conmon did not report a pid within 2m")
	}
	if res.err != nil {
		return 0, fmt.Errorf("conmon sync pipe (conmon exit: %v): %w", waitErr, res.err)
	}
	if res.r.Data <= 0 {
		msg := strings.TrimSpace(res.r.Message)
		if msg == "" {
			msg = fmt.Sprintf("conmon reported pid %d", res.r.Data)
		}
		return 0, &createError{msg: runcMessage(msg)}
	}
	return res.r.Data, nil
}

// runcMessage extracts the msg="..." part of runc's logrus line
// (time="..." level=error msg="runc create failed: ...").
func runcMessage(s string) string {
	i := strings.Index(s, `msg="`)
	if i < 0 {
		return s
	}
	rest := s[i+4:]
	// Find the closing quote of the Go-quoted string.
	for j := 1; j < len(rest); j++ {
		if rest[j] == '\\' {
			j++
			continue
		}
		if rest[j] == '"' {
			if u, err := strconv.Unquote(rest[:j+1]); err == nil {
				return u
			}
			break
		}
	}
	return s
}

package runc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// runc runs one runc subcommand with the driver's --root and returns its
// combined output; errors carry runc's message.
func (d *Driver) runc(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"--root", d.dirs.runcRoot}, args...)
	cmd := exec.CommandContext(ctx, d.cfg.RuncPath, full...)
	cmd.Env = append(os.Environ(), runcGOMAXPROCS)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("runc %s: %w: %s", args[0], err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// runcGOMAXPROCS runs runc's short-lived Go processes on one P: fewer
// threads to start and schedule on a node whose cores are busy starting
// other pods.
const runcGOMAXPROCS = "GOMAXPROCS=1"

type runcState struct {
	Status string `json:"status"`
	Pid    int    `json:"pid"`
}

// runcStatus is runc state's status, "" when runc has no such container.
func (d *Driver) runcStatus(ctx context.Context, id string) (runcState, error) {
	out, err := d.runc(ctx, "state", id)
	if err != nil {
		if strings.Contains(string(out), "does not exist") {
			return runcState{}, nil
		}
		return runcState{}, err
	}
	var st runcState
	if err := json.Unmarshal(out, &st); err != nil {
		return runcState{}, fmt.Errorf("runc state %s: %w", id, err)
	}
	return st, nil
}

// runcDelete force-deletes id; a container runc does not know is fine.
func (d *Driver) runcDelete(ctx context.Context, id string) error {
	out, err := d.runc(ctx, "delete", "--force", id)
	if err != nil && !strings.Contains(string(out), "does not exist") {
		return err
	}
	return nil
}

// runcKill signals every process of id; a stopped or unknown container is fine.
func (d *Driver) runcKill(ctx context.Context, id, sig string, all bool) error {
	args := []string{"kill"}
	if all {
		args = append(args, "--all")
	}
	out, err := d.runc(ctx, append(args, id, sig)...)
	if err != nil {
		s := string(out)
		if strings.Contains(s, "does not exist") || strings.Contains(s, "not running") ||
			strings.Contains(s, "process already finished") || strings.Contains(s, "container not running") {
			return nil
		}
		return err
	}
	return nil
}

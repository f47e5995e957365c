package controller

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{NodeMonitorGracePeriod: 3 * time.Second}
	c.defaults()
	if c.NodeMonitorGracePeriod != 3*time.Second || c.NodeMonitorPeriod != 5*time.Second || c.LeaseDuration != 15*time.Second ||
		c.RenewDeadline != 10*time.Second || c.RetryPeriod != 2*time.Second || c.PodGCPeriod != 20*time.Second || c.Workers != 2 {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Clock == nil || c.Log == nil || !strings.Contains(c.Identity, "_") {
		t.Fatalf("clock/log/identity not set: %+v", c)
	}
	d := Config{}
	d.defaults()
	if d.Identity == c.Identity {
		t.Fatal("two managers got the same identity")
	}
}

func TestRunNeedsClients(t *testing.T) {
	if err := Run(context.Background(), Config{}); err == nil || !strings.Contains(err.Error(), "clients are required") {
		t.Fatalf("got %v", err)
	}
}

package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestControllerFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr []string
	}{
		{args: nil},
		{args: []string{"--node-monitor-grace-period=3s", "--node-monitor-period=500ms", "--terminated-pod-gc-threshold=0"}},
		{args: []string{"--node-monitor-grace-period=0s"}, wantErr: []string{"--node-monitor-grace-period must be positive"}},
		{args: []string{"--pod-gc-period=-1s", "--terminated-pod-gc-threshold=-2"},
			wantErr: []string{"--pod-gc-period must be positive, got -1s", "--terminated-pod-gc-threshold must be 0 (keep all) or more, got -2"}},
		{args: []string{"--node-monitor-grace-period=1s", "--node-monitor-period=5s"}, wantErr: []string{"must not be shorter than --node-monitor-period"}},
	}
	for _, tt := range tests {
		fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
		var o controllerOptions
		addControllerFlags(fs, &o)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		err := o.validate()
		if len(tt.wantErr) == 0 {
			if err != nil {
				t.Errorf("%v: %v", tt.args, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%v: no error", tt.args)
			continue
		}
		for _, w := range tt.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q lacks %q", tt.args, err, w)
			}
		}
	}
	var o controllerOptions
	addControllerFlags(pflag.NewFlagSet("x", pflag.ContinueOnError), &o)
	if o.nodeMonitorGracePeriod != 40*time.Second || o.nodeMonitorPeriod != 5*time.Second || o.terminatedPodGCThreshold != 12500 {
		t.Fatalf("defaults: %+v", o)
	}
}

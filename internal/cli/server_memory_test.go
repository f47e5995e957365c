package cli

import (
	"context"
	"runtime"
	"testing"
	"time"
)

func TestParseMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		flag, env string
		want      memoryLimitSetting
		wantErr   bool
	}{
		{flag: "auto", want: memoryLimitSetting{base: defaultMemoryLimit}},
		{flag: "", want: memoryLimitSetting{base: defaultMemoryLimit}},
		{flag: "auto", env: "200MiB", want: memoryLimitSetting{fromEnv: true}},
		{flag: "none", env: "200MiB", want: memoryLimitSetting{}},
		{flag: "0", want: memoryLimitSetting{}},
		{flag: "256Mi", env: "200MiB", want: memoryLimitSetting{base: 256 << 20}},
		{flag: "1G", want: memoryLimitSetting{base: 1e9}},
		{flag: "lots", wantErr: true},
		{flag: "-5Mi", wantErr: true},
	} {
		got, err := parseMemoryLimit(tc.flag, tc.env)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseMemoryLimit(%q, %q) = %+v, %v; want %+v, error %v", tc.flag, tc.env, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestEffectiveMemoryLimit(t *testing.T) {
	const mi = 1 << 20
	for _, tc := range []struct {
		base, live, nonHeap int64
		want                int64
	}{
		{96 * mi, 0, 0, 96 * mi},
		{96 * mi, 50 * mi, 10 * mi, 96 * mi},
		{96 * mi, 60 * mi, 6 * mi, 96 * mi},     // exactly at the base
		{96 * mi, 100 * mi, 0, 150 * mi},        // the live heap outgrew the base
		{96 * mi, 100 * mi, 20 * mi, 170 * mi},  // plus what the runtime holds outside the heap
		{512 * mi, 300 * mi, 20 * mi, 512 * mi}, // a generous base stays
	} {
		if got := effectiveMemoryLimit(tc.base, tc.live, tc.nonHeap); got != tc.want {
			t.Errorf("effectiveMemoryLimit(%d Mi, live %d Mi, non-heap %d Mi) = %d Mi, want %d Mi", tc.base/mi, tc.live/mi, tc.nonHeap/mi, got/mi, tc.want/mi)
		}
	}
}

func TestAfterEachGC(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := make(chan struct{}, 10)
	afterEachGC(ctx, func() {
		select {
		case calls <- struct{}{}:
		default:
		}
	})
	for i := 0; i < 3; i++ {
		runtime.GC()
		select {
		case <-calls:
		case <-time.After(5 * time.Second):
			t.Fatalf("no call after collection %d", i+1)
		}
	}
	cancel()
	runtime.GC()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	for len(calls) > 0 {
		<-calls
	}
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if len(calls) != 0 {
		t.Fatal("called after ctx ended")
	}
}

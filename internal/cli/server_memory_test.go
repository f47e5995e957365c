package cli

import "testing"

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
		base  int64
		lives []int64
		want  int64
	}{
		{96 * mi, nil, 96 * mi},
		{96 * mi, []int64{0}, 96 * mi},
		{96 * mi, []int64{50 * mi}, 96 * mi},
		{96 * mi, []int64{64 * mi}, 96 * mi},
		{96 * mi, []int64{100 * mi}, 150 * mi},                     // the live heap outgrew the base
		{96 * mi, []int64{100 * mi, 110 * mi, 104 * mi}, 150 * mi}, // the smallest of the last checks
		{96 * mi, []int64{50 * mi, 120 * mi, 50 * mi}, 96 * mi},    // a burst does not raise it
		{512 * mi, []int64{300 * mi}, 512 * mi},
	} {
		if got := effectiveMemoryLimit(tc.base, tc.lives); got != tc.want {
			t.Errorf("effectiveMemoryLimit(%d Mi, %v) = %d Mi, want %d Mi", tc.base/mi, tc.lives, got/mi, tc.want/mi)
		}
	}
}

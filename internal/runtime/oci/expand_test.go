package oci

import (
	"reflect"
	"testing"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"VAR_A": "A", "VAR_B": "B", "VAR_EMPTY": "", "VAR_REF": "$(VAR_A)"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(VAR_A)", "A"},
		{"___$(VAR_A)___", "___A___"},
		{"$(VAR_A)-$(VAR_B)", "A-B"},
		{"$(VAR_EMPTY)", ""},
		{"$(VAR_REF)", "$(VAR_A)"}, // values are not expanded again
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$$(VAR_A)", "$(VAR_A)"},
		{"$$$(VAR_A)", "$A"},
		{"$$$$(VAR_A)", "$$(VAR_A)"},
		{"$$", "$"},
		{"$", "$"},
		{"x$", "x$"},
		{"$(VAR_A", "$(VAR_A"},
		{"$(", "$("},
		{"$()", "$()"},
		{"$VAR_A", "$VAR_A"},
		{"${VAR_A}", "${VAR_A}"},
		{"$(VAR_A)$", "A$"},
		{"$($(VAR_A))", "$($(VAR_A))"},
	} {
		if got := Expand(tc.in, lookup); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEnvMapExpandsNothing(t *testing.T) {
	vars := EnvMap([]EnvVar{{"A", "a"}, {"B", "$(A)"}, {"A", "aa"}})
	if vars["A"] != "aa" || vars["B"] != "$(A)" {
		t.Errorf("vars = %v", vars)
	}
	if g := ExpandAll([]string{"echo", "$(A)", "$(B)", "$(NOPE)", "$$(A)"}, vars); !reflect.DeepEqual(g, []string{"echo", "aa", "$(A)", "$(NOPE)", "$(A)"}) {
		t.Errorf("ExpandAll = %v", g)
	}
}

func TestMergeEnv(t *testing.T) {
	got := MergeEnv([]string{"PATH=/bin", "A=image", "B=image"}, []EnvVar{{"B", "pod"}, {"C", "pod"}, {"C", "pod2"}})
	want := []string{"PATH=/bin", "A=image", "B=pod", "C=pod2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergeEnv = %v, want %v", got, want)
	}
}

func TestArgv(t *testing.T) {
	ep, cmd := []string{"/ep"}, []string{"cmd", "x"}
	for _, tc := range []struct {
		name          string
		command, args []string
		ep, cmd       []string
		want          []string
		err           bool
	}{
		{"image only", nil, nil, ep, cmd, []string{"/ep", "cmd", "x"}, false},
		{"command drops image cmd", []string{"/c"}, nil, ep, cmd, []string{"/c"}, false},
		{"command and args", []string{"/c"}, []string{"a"}, ep, cmd, []string{"/c", "a"}, false},
		{"args replace cmd", nil, []string{"a"}, ep, cmd, []string{"/ep", "a"}, false},
		{"args without entrypoint", nil, []string{"sh"}, nil, cmd, []string{"sh"}, false},
		{"nothing", nil, nil, nil, nil, nil, true},
	} {
		got, err := Argv(tc.ep, tc.cmd, tc.command, tc.args)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Argv = %v, %v; want %v (err %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"": 15, "SIGTERM": 15, "TERM": 15, "sigquit": 3, "9": 9, "SIGRTMIN+3": 37, "SIGWINCH": 28} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"SIGNOPE", "0", "65", "RTMIN+40"} {
		if _, err := ParseSignal(bad); err == nil {
			t.Errorf("ParseSignal(%q) accepted", bad)
		}
	}
}

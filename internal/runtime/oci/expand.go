package oci

import "strings"

// Expand replaces $(VAR) references in input as Kubernetes does
// (third_party/forked/golang/expansion): $$ is an escaped $, a reference
// to a name that mapping does not know is left as written, an unclosed
// "$(" and a "$" followed by anything else are copied literally.
func Expand(input string, mapping func(name string) (string, bool)) string {
	if !strings.Contains(input, "$") {
		return input
	}
	var b strings.Builder
	checkpoint := 0
	for cursor := 0; cursor < len(input); cursor++ {
		if input[cursor] != '$' || cursor+1 >= len(input) {
			continue
		}
		b.WriteString(input[checkpoint:cursor])
		read, isVar, advance := readVariableName(input[cursor+1:])
		if isVar {
			if v, ok := mapping(read); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + read + ")")
			}
		} else {
			b.WriteString(read)
		}
		cursor += advance
		checkpoint = cursor + 1
	}
	return b.String() + input[checkpoint:]
}

// readVariableName reads what follows a '$': it returns the text to emit
// (or the variable name), whether it is a variable, and how many bytes of
// input were consumed.
func readVariableName(input string) (string, bool, int) {
	switch input[0] {
	case '$':
		return "$", false, 1
	case '(':
		for i := 1; i < len(input); i++ {
			if input[i] == ')' {
				return input[1:i], true, i + 1
			}
		}
		return "$(", false, 1
	default:
		return "$" + input[0:1], false, 1
	}
}

// EnvVar is a name/value pair (the runtime's EnvVar without the import).
type EnvVar struct {
	Name  string
	Value string
}

// EnvMap is env's final name→value map (a later definition of a name
// wins), against which command and args are expanded. The values are
// used as they are: the agent expanded the literal ones already (only
// those: a Secret's or a ConfigMap's value is never expanded), as the
// kubelet's makeEnvironmentVariables does.
func EnvMap(env []EnvVar) map[string]string {
	vars := make(map[string]string, len(env))
	for _, e := range env {
		vars[e.Name] = e.Value
	}
	return vars
}

// ExpandAll expands every string of in against vars.
func ExpandAll(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	lookup := func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = Expand(s, lookup)
	}
	return out
}

// MergeEnv returns the image's environment (KEY=VALUE strings) overridden
// by env, as KEY=VALUE strings: image variables keep their order, a
// variable that env redefines takes env's value in the image's position,
// and the remaining env variables follow in their order.
func MergeEnv(imageEnv []string, env []EnvVar) []string {
	override := make(map[string]string, len(env))
	for _, e := range env {
		override[e.Name] = e.Value
	}
	seen := make(map[string]bool, len(imageEnv)+len(env))
	out := make([]string, 0, len(imageEnv)+len(env))
	for _, kv := range imageEnv {
		name, _, _ := strings.Cut(kv, "=")
		if seen[name] {
			continue
		}
		seen[name] = true
		if v, ok := override[name]; ok {
			out = append(out, name+"="+v)
			continue
		}
		out = append(out, kv)
	}
	for _, e := range env {
		if seen[e.Name] {
			continue
		}
		seen[e.Name] = true
		out = append(out, e.Name+"="+override[e.Name])
	}
	return out
}

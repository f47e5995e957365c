package auth

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// RuleAllows reports whether one RBAC rule grants req, as Kubernetes'
// RuleAllows: verbs, then either non-resource URLs or API groups,
// resources ("pods/log", "*/scale", "*") and resource names.
func RuleAllows(rule *rbacv1.PolicyRule, req Request) bool {
	if !hasOrStar(rule.Verbs, req.Verb) {
		return false
	}
	if req.Resource == "" {
		return nonResourceURLMatches(rule.NonResourceURLs, req.Path)
	}
	if !hasOrStar(rule.APIGroups, req.APIGroup) || !resourceMatches(rule.Resources, req.Resource, req.Subresource) {
		return false
	}
	return len(rule.ResourceNames) == 0 || (req.Name != "" && slices.Contains(rule.ResourceNames, req.Name))
}

// RulesAllow reports whether any rule grants req.
func RulesAllow(rules []rbacv1.PolicyRule, req Request) bool {
	for i := range rules {
		if RuleAllows(&rules[i], req) {
			return true
		}
	}
	return false
}

func hasOrStar(list []string, v string) bool {
	for _, s := range list {
		if s == "*" || s == v {
			return true
		}
	}
	return false
}

func resourceMatches(rules []string, resource, sub string) bool {
	combined := resource
	if sub != "" {
		combined += "/" + sub
	}
	for _, r := range rules {
		if r == "*" || r == combined {
			return true
		}
		if sub != "" && r == "*/"+sub {
			return true
		}
	}
	return false
}

func nonResourceURLMatches(rules []string, path string) bool {
	for _, r := range rules {
		if r == "*" || r == path {
			return true
		}
		if prefix, ok := strings.CutSuffix(r, "*"); ok && strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

// SubjectMatches reports whether u is one of subjects. ServiceAccount
// subjects without a namespace take bindingNS (a RoleBinding's own).
func SubjectMatches(u User, subjects []rbacv1.Subject, bindingNS string) bool {
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			if s.Name == u.Name {
				return true
			}
		case rbacv1.GroupKind:
			if slices.Contains(u.Groups, s.Name) {
				return true
			}
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				ns = bindingNS
			}
			if u.Name == ServiceAccountPrefix+ns+":"+s.Name {
				return true
			}
		}
	}
	return false
}

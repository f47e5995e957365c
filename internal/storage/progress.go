package storage

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// progressReliable reports whether the etcd server answers
// RequestProgress only once a watch stream has caught up (etcd 3.5.13+ and
// 3.4.31+, the versions kube-apiserver requires for the same use). Older
// servers answer at once, which would let the watch cache believe it has
// seen revisions whose events are still in flight; with them the cache
// does not ask for progress and does not replay history.
func (s *Store) progressReliable() bool {
	s.progressOnce.Do(func() {
		ctx, cancel := context.WithTimeout(s.baseCtx, 5*time.Second)
		defer cancel()
		endpoints := s.client.Endpoints()
		if len(endpoints) == 0 {
			endpoints = []string{""} // the in-process client of an embedded etcd
		}
		for _, ep := range endpoints {
			st, err := s.client.Status(ctx, ep)
			if err != nil {
				continue
			}
			s.progressOK = versionAtLeast(st.Version)
			return
		}
	})
	return s.progressOK
}

// versionAtLeast reports whether an etcd version has ordered progress
// notifications.
func versionAtLeast(v string) bool {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 3 {
		return false
	}
	n := make([]int, 3)
	for i, p := range parts {
		p, _, _ = strings.Cut(p, "-")
		x, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		n[i] = x
	}
	switch {
	case n[0] != 3:
		return n[0] > 3
	case n[1] >= 6:
		return true
	case n[1] == 5:
		return n[2] >= 13
	case n[1] == 4:
		return n[2] >= 31
	}
	return false
}

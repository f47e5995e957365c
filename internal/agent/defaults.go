package agent

import (
	"strings"

	v1 "k8s.io/api/core/v1"
)

// applyPodDefaults sets the defaults the API server gives a v1 Pod
// (k8s.io/kubernetes pkg/apis/core/v1 defaults.go) for the fields the
// agent reads. Static pods never pass through the API server, so the agent
// applies them itself. (The API server's defaulting lives in
// internal/apiserver/admission once written; this small copy is the
// static source's.)
func applyPodDefaults(pod *v1.Pod) {
	s := &pod.Spec
	if s.RestartPolicy == "" {
		s.RestartPolicy = v1.RestartPolicyAlways
	}
	if s.TerminationGracePeriodSeconds == nil {
		g := int64(30)
		s.TerminationGracePeriodSeconds = &g
	}
	if s.DNSPolicy == "" {
		s.DNSPolicy = v1.DNSClusterFirst
	}
	if s.SchedulerName == "" {
		s.SchedulerName = "default-scheduler"
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &v1.PodSecurityContext{}
	}
	if s.EnableServiceLinks == nil {
		t := true
		s.EnableServiceLinks = &t
	}
	for i := range s.Volumes {
		v := &s.Volumes[i]
		if v.VolumeSource == (v1.VolumeSource{}) {
			v.EmptyDir = &v1.EmptyDirVolumeSource{}
		}
		if v.HostPath != nil && v.HostPath.Type == nil {
			t := v1.HostPathUnset
			v.HostPath.Type = &t
		}
	}
	for i := range s.InitContainers {
		containerDefaults(&s.InitContainers[i])
	}
	for i := range s.Containers {
		containerDefaults(&s.Containers[i])
	}
}

func containerDefaults(c *v1.Container) {
	if c.ImagePullPolicy == "" {
		if latestTag(c.Image) {
			c.ImagePullPolicy = v1.PullAlways
		} else {
			c.ImagePullPolicy = v1.PullIfNotPresent
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = v1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = v1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = v1.ProtocolTCP
		}
	}
}

// latestTag reports whether image names no tag or the tag "latest" (and no
// digest): Kubernetes then defaults imagePullPolicy to Always.
func latestTag(image string) bool {
	if strings.Contains(image, "@") {
		return false
	}
	last := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(last, ":")
	return i < 0 || last[i+1:] == "latest"
}

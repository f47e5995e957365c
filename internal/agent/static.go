package agent

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/dump"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/peapod/peapod/internal/agent/plan"
	"github.com/peapod/peapod/internal/apiserver/admission"
)

// Annotations the kubelet sets on static pods.
const (
	ConfigHashAnnotation   = "kubernetes.io/config.hash"
	ConfigSourceFile       = "file"
	manifestPathAnnotation = "peapod.io/manifest-path"
)

// StaticSource watches a directory of pod manifests (*.yaml, *.yml,
// *.json; one Pod each) and sends the full set of pods whenever it
// changes. A pod's UID is a hash of its file's content, node and path, so a
// changed file is a new pod and the old one is stopped.
type StaticSource struct {
	Dir      string
	NodeName string
	// Interval between scans; default 1 s.
	Interval time.Duration
	Logf     func(format string, args ...any)
	// now is the clock (default time.Now).
	now func() time.Time

	reported map[string]string  // path -> last error logged
	good     map[string]*v1.Pod // path -> last pod decoded from it
	// decoded is what each file gave at its last decode, with the file's
	// identity then: a file whose identity has not changed is not read
	// nor decoded again (the agent scans every second).
	decoded map[string]staticDecoded
}

// staticDecoded is one file's last decode.
type staticDecoded struct {
	id  staticFileID
	pod *v1.Pod
	err error
}

// staticFileID identifies a file's content without reading it: any write
// or replacement (rename over it) changes its inode, size, mtime or ctime.
type staticFileID struct {
	dev, ino, size   uint64
	mtimeNs, ctimeNs int64
}

// staticRacy is how close to the scan a file's last change may be for its
// decode not to be reused: timestamps are coarse (the kernel's tick), so
// a file rewritten with the same size right after being decoded could keep
// its identity. Such a file is decoded again until it is older than this
// (as git treats "racily clean" index entries).
const staticRacy = 2 * time.Second

// Run scans until ctx ends, sending the first set at once and then every
// change.
func (s *StaticSource) Run(ctx context.Context, out chan<- []*v1.Pod) {
	interval := s.Interval
	if interval <= 0 {
		interval = time.Second
	}
	last := "-"
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pods, ok := s.Scan()
		if fp := fingerprint(pods); ok && fp != last {
			// The source keeps its pods for the next scans: the receiver
			// gets its own copies.
			sent := make([]*v1.Pod, len(pods))
			for i, p := range pods {
				sent[i] = p.DeepCopy()
			}
			select {
			case out <- sent:
				last = fp
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Scan reads every manifest in the directory. Bad files are logged (once
// per distinct error); a file that held a good pod before and turns bad
// (being rewritten, a typo) keeps that pod running rather than losing it.
// ok is false when the directory could not be read (the caller keeps its
// pods); a directory that does not exist holds no pods. A file unchanged
// since its last decode (same inode, size, mtime, ctime) is not read
// again. The pods returned stay the source's: callers must not modify
// them.
func (s *StaticSource) Scan() (pods []*v1.Pod, ok bool) {
	if s.reported == nil {
		s.reported = map[string]string{}
		s.good = map[string]*v1.Pod{}
		s.decoded = map[string]staticDecoded{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	now := s.now()
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		s.report(s.Dir, err)
		return nil, errors.Is(err, os.ErrNotExist)
	}
	s.report(s.Dir, nil)
	byName := map[string]string{}
	seen := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		path := filepath.Join(s.Dir, name)
		seen[path] = true
		pod, err := s.decode(path, now)
		if err != nil {
			if prev, had := s.good[path]; had {
				s.report(path, fmt.Errorf("%w (keeping the pod from its previous content)", err))
				pods = append(pods, prev)
				byName[prev.Namespace+"/"+prev.Name] = path
			} else {
				s.report(path, err)
			}
			continue
		}
		key := pod.Namespace + "/" + pod.Name
		if other, dup := byName[key]; dup {
			s.report(path, fmt.Errorf("pod %s is already defined by %s", key, other))
			continue
		}
		byName[key] = path
		s.report(path, nil)
		s.good[path] = pod
		pods = append(pods, pod)
	}
	for p := range s.reported {
		if !seen[p] && p != s.Dir {
			delete(s.reported, p)
		}
	}
	for p := range s.good {
		if !seen[p] {
			delete(s.good, p)
		}
	}
	for p := range s.decoded {
		if !seen[p] {
			delete(s.decoded, p)
		}
	}
	return pods, true
}

// decode returns what the file at path holds: its last decode if the file
// has not changed since (and had not changed shortly before it), else a
// fresh one.
func (s *StaticSource) decode(path string, now time.Time) (*v1.Pod, error) {
	id, idErr := staticStat(path)
	if d, ok := s.decoded[path]; ok && idErr == nil && d.id == id {
		return d.pod, d.err
	}
	data, err := os.ReadFile(path)
	var pod *v1.Pod
	if err == nil {
		pod, err = DecodeStaticPod(data, path, s.NodeName)
	}
	changed := time.Unix(0, max(id.mtimeNs, id.ctimeNs))
	if idErr == nil && now.Sub(changed) > staticRacy {
		s.decoded[path] = staticDecoded{id: id, pod: pod, err: err}
	} else {
		delete(s.decoded, path)
	}
	return pod, err
}

func staticStat(path string) (staticFileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return staticFileID{}, err
	}
	return staticFileID{
		dev: st.Dev, ino: st.Ino, size: uint64(st.Size),
		mtimeNs: st.Mtim.Nano(), ctimeNs: st.Ctim.Nano(),
	}, nil
}

func (s *StaticSource) report(path string, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if s.reported[path] == msg {
		return
	}
	s.reported[path] = msg
	if err != nil && s.Logf != nil {
		s.Logf("static pod %s: %v", path, err)
	}
}

func fingerprint(pods []*v1.Pod) string {
	uids := make([]string, len(pods))
	for i, p := range pods {
		uids[i] = string(p.UID)
	}
	sort.Strings(uids)
	return strings.Join(uids, ",")
}

// DecodeStaticPod turns a manifest into the pod the agent runs: the API
// server's pod defaults applied (admission.DefaultPod), UID from the content hash, name "<name>-<node>", namespace
// "default" when absent, bound to the node.
func DecodeStaticPod(data []byte, path, nodeName string) (*v1.Pod, error) {
	obj, gvk, err := scheme.Codecs.UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return nil, fmt.Errorf("expected a v1 Pod, got %s", gvk)
	}
	if err := validateStaticPod(pod); err != nil {
		return nil, err
	}
	// The kubelet hashes the decoded object, then the node and the source.
	h := md5.New()
	fmt.Fprint(h, dump.ForHash(pod))
	fmt.Fprintf(h, "host:%s", nodeName)
	fmt.Fprintf(h, "file:%s", path)
	pod.UID = types.UID(hex.EncodeToString(h.Sum(nil)))

	pod.Name = pod.Name + "-" + strings.ToLower(nodeName)
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	pod.Spec.NodeName = nodeName
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[ConfigHashAnnotation] = string(pod.UID)
	pod.Annotations[plan.ConfigSourceAnnotation] = ConfigSourceFile
	pod.Annotations[manifestPathAnnotation] = path
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, v1.Toleration{Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute})
	admission.DefaultPod(pod)
	pod.Status = v1.PodStatus{Phase: v1.PodPending}
	return pod, nil
}

// validateStaticPod checks what the agent relies on and returns every
// problem at once.
func validateStaticPod(pod *v1.Pod) error {
	var errs []error
	if pod.Name == "" {
		errs = append(errs, errors.New("metadata.name: required"))
	} else {
		for _, m := range validation.IsDNS1123Subdomain(pod.Name) {
			errs = append(errs, fmt.Errorf("metadata.name %q: %s", pod.Name, m))
		}
	}
	if len(pod.Spec.Containers) == 0 {
		errs = append(errs, errors.New("spec.containers: at least one container is required"))
	}
	names := map[string]bool{}
	check := func(field string, cs []v1.Container) {
		for i, c := range cs {
			f := fmt.Sprintf("%s[%d]", field, i)
			if c.Name == "" {
				errs = append(errs, fmt.Errorf("%s.name: required", f))
			} else {
				for _, m := range validation.IsDNS1123Label(c.Name) {
					errs = append(errs, fmt.Errorf("%s.name %q: %s", f, c.Name, m))
				}
				if names[c.Name] {
					errs = append(errs, fmt.Errorf("%s.name %q: duplicate", f, c.Name))
				}
				names[c.Name] = true
			}
			if c.Image == "" {
				errs = append(errs, fmt.Errorf("%s.image: required", f))
			}
		}
	}
	check("spec.initContainers", pod.Spec.InitContainers)
	check("spec.containers", pod.Spec.Containers)
	for i, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy != v1.ContainerRestartPolicyAlways {
			errs = append(errs, fmt.Errorf("spec.initContainers[%d].restartPolicy: Unsupported value: %q: supported values: \"Always\"", i, *c.RestartPolicy))
		}
		if c.RestartPolicy == nil {
			// Only sidecars have probes and hooks (the API's rule).
			for _, f := range []struct {
				name string
				set  bool
			}{{"lifecycle", c.Lifecycle != nil}, {"livenessProbe", c.LivenessProbe != nil},
				{"readinessProbe", c.ReadinessProbe != nil}, {"startupProbe", c.StartupProbe != nil}} {
				if f.set {
					errs = append(errs, fmt.Errorf("spec.initContainers[%d].%s: Forbidden: may not be set for init containers without restartPolicy=Always", i, f.name))
				}
			}
		}
	}
	switch pod.Spec.RestartPolicy {
	case "", v1.RestartPolicyAlways, v1.RestartPolicyOnFailure, v1.RestartPolicyNever:
	default:
		errs = append(errs, fmt.Errorf("spec.restartPolicy %q: must be Always, OnFailure or Never", pod.Spec.RestartPolicy))
	}
	vols := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = true
	}
	for _, c := range append(append([]v1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, vm := range c.VolumeMounts {
			if !vols[vm.Name] {
				errs = append(errs, fmt.Errorf("container %q: volumeMount %q: no volume of that name", c.Name, vm.Name))
			}
		}
	}
	return errors.Join(errs...)
}

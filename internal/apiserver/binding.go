package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// serveBinding answers POST pods/<name>/binding: it assigns the pod to a
// node, as kube's BindingREST (409 if already bound or being deleted).
func (s *Server) serveBinding(rq *request) {
	body, err := readBody(rq.r, s.cfg.MaxRequestBytes)
	if err != nil {
		rq.fail(err)
		return
	}
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "Binding"}
	obj, _, err := s.decoder().decode(body, mediaType(rq.r), gvk, &corev1.Binding{}, validationIgnore)
	if err != nil {
		rq.fail(err)
		return
	}
	b := obj.(*corev1.Binding)
	if b.Name != "" && b.Name != rq.info.Name {
		rq.fail(badRequest("the name of the binding (%s) does not match the pod name on the URL (%s)", b.Name, rq.info.Name))
		return
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		rq.fail(apierrors.NewInvalid(gvk.GroupKind(), rq.info.Name, nil))
		return
	}
	if b.Target.Name == "" {
		rq.fail(badRequest("binding target name (the node) is required"))
		return
	}
	wo, err := parseWriteOptions(rq.r)
	if err != nil {
		rq.fail(err)
		return
	}
	_, err = s.update(rq.r.Context(), rq, "binding", wo,
		func(current runtime.Object) (runtime.Object, error) {
			pod, ok := current.DeepCopyObject().(*corev1.Pod)
			if !ok {
				return nil, apierrors.NewInternalError(errors.New("binding on a non-pod"))
			}
			if pod.DeletionTimestamp != nil {
				return nil, apierrors.NewConflict(rq.gr, pod.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
			}
			if b.UID != "" && b.UID != pod.UID {
				return nil, apierrors.NewConflict(rq.gr, pod.Name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
			}
			if pod.Spec.NodeName != "" {
				return nil, apierrors.NewConflict(rq.gr, pod.Name, fmt.Errorf("pod %v is already assigned to node %q", pod.Name, pod.Spec.NodeName))
			}
			pod.Spec.NodeName = b.Target.Name
			for k, v := range b.Annotations {
				if pod.Annotations == nil {
					pod.Annotations = map[string]string{}
				}
				pod.Annotations[k] = v
			}
			setPodScheduled(pod, s.cfg.Now())
			return pod, nil
		}, true)
	if err != nil {
		rq.fail(err)
		return
	}
	s.writeStatus(rq.w, rq.r, &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusCreated})
}

func setPodScheduled(pod *corev1.Pod, now time.Time) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodScheduled {
			pod.Status.Conditions[i].Status = corev1.ConditionTrue
			pod.Status.Conditions[i].Reason = ""
			pod.Status.Conditions[i].Message = ""
			pod.Status.Conditions[i].LastTransitionTime = metav1.NewTime(now.Truncate(1e9))
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
		Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Truncate(1e9))})
}

package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peapod/peapod/internal/runtime"
)

var podsResource = schema.GroupResource{Resource: "pods"}

func unauthorized() *apierrors.StatusError {
	return apierrors.NewUnauthorized("Unauthorized")
}

// lookupError maps a PodLookup or runtime error to the status kubectl
// prints, with Kubernetes' messages.
func lookupError(err error, pod, container string) *apierrors.StatusError {
	var se *apierrors.StatusError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, ErrPodNotFound):
		return apierrors.NewNotFound(podsResource, pod)
	case errors.Is(err, ErrNoPrevious):
		return apierrors.NewBadRequest(fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod))
	case errors.Is(err, ErrContainerNotFound):
		return apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", container, pod))
	case errors.Is(err, runtime.ErrInvalidState):
		return apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is not running: %v", container, pod, err))
	case errors.Is(err, runtime.ErrNotFound):
		return apierrors.NewNotFound(podsResource, pod)
	}
	return apierrors.NewInternalError(err)
}

// writeStatus writes a Status as the API server does.
func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	st := err.ErrStatus
	st.Kind, st.APIVersion = "Status", "v1"
	st.Status = metav1.StatusFailure
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(st.Code))
	json.NewEncoder(w).Encode(&st)
}

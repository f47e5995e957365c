package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/peapod/peapod/internal/auth"
)

// bootstrapRBAC creates the bootstrap ClusterRoles and ClusterRoleBindings
// (auth.BootstrapClusterRoles) through the API, leaving existing ones
// alone (an operator's edits survive restarts).
func bootstrapRBAC(api http.Handler, adminToken string) error {
	post := func(path, kind, name string, obj any) error {
		body, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		req := httptest.NewRequest(http.MethodPost, path+"?fieldManager=peapod-server", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated && rec.Code != http.StatusConflict {
			return fmt.Errorf("creating %s %s: %d %s", kind, name, rec.Code, rec.Body.String())
		}
		return nil
	}
	const base = "/apis/rbac.authorization.k8s.io/v1/"
	for _, r := range auth.BootstrapClusterRoles() {
		r.TypeMeta.APIVersion, r.TypeMeta.Kind = rbacv1.SchemeGroupVersion.String(), "ClusterRole"
		if err := post(base+"clusterroles", "clusterrole", r.Name, r); err != nil {
			return err
		}
	}
	for _, b := range auth.BootstrapClusterRoleBindings() {
		b.TypeMeta.APIVersion, b.TypeMeta.Kind = rbacv1.SchemeGroupVersion.String(), "ClusterRoleBinding"
		if err := post(base+"clusterrolebindings", "clusterrolebinding", b.Name, b); err != nil {
			return err
		}
	}
	return nil
}

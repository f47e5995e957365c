package cli

import (
	"strings"
	"testing"
)

func TestAgentOptionsValidate(t *testing.T) {
	ok := agentOptions{podManifestPath: "/m", nodeName: "n", port: 10250, bridgeName: "peapod0", podCIDR: "10.85.0.0/24"}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	joined := agentOptions{server: "https://x:6443", tokenFile: "/t", nodeName: "n", port: 10250, bridgeName: "peapod0", podCIDR: "10.85.0.0/24"}
	if err := joined.validate(); err != nil {
		t.Fatalf("--server without --pod-manifest-path: %v", err)
	}
	bad := agentOptions{port: 0, bridgeName: "a-bridge-name-too-long", podCIDR: "10.85.0.0", nodeIP: "nope"}
	err := bad.validate()
	if err == nil {
		t.Fatal("bad options accepted")
	}
	for _, want := range []string{"--pod-manifest-path or --server is required",
		"--node-name is required", "--port 0", "--bridge-name", "--pod-cidr", "--node-ip"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

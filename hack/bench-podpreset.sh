#!/usr/bin/env bash
# PodPreset: the pure merge (Go benchmark) and the admission plugin's cost
# on pod create against a real server. Figures: docs/podpreset.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
go test -run '^$' -bench MergePodPresets -benchtime 2s ./internal/apiserver/admission/
go build -o bin/peapod ./cmd/peapod
go run ./hack/bench-podpreset --peapod bin/peapod --pods 300

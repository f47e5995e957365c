#!/usr/bin/env bash
# The system-level benchmarks that live as env-gated tests in test/e2e or as
# Go programs under hack/: API server, scheduler throughput, end-to-end pod
# start (with podman side by side), Secret propagation, probe load.
# Root, Debian 12. Figures: docs/benchmarks.md (each section names its run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
go build -o bin/peapod ./cmd/peapod

echo "== API server (issue 2)"
go run ./hack/bench-apiserver --peapod bin/peapod --pods 10000 --concurrency 100
# the same 100 clients sharing an open-loop rate (latency from each scheduled send)
go run ./hack/bench-apiserver --peapod bin/peapod --pods 10000 --concurrency 100 --rate 2000

echo "== Scheduler throughput (issue 4)"
PEAPOD_BENCH_SCHEDULER=1000,5000 PEAPOD_BENCH_PODS=5000 \
  go test -count=1 -timeout 30m ./test/e2e -run 'TestSchedulerThroughput$' -v | grep -v '^=== '

echo "== Pod start end to end, podman side by side (issue 4)"
PEAPOD_BENCH_PODSTART=30 PEAPOD_BENCH_PODMAN=1 \
  go test -count=1 -timeout 30m ./test/e2e -run 'TestClusterPodStartBench$' -v | grep -v '^=== '

echo "== Secret propagation to 100 pods and token volume cost (issue 5)"
PEAPOD_BENCH_VOLUMES=100 \
  go test -count=1 -timeout 30m ./test/e2e -run 'TestVolumesSecretPropagation$|TestVolumesSetUpCost$' -v | grep -v '^=== '

echo "== Probes under load (issue 6)"
PEAPOD_BENCH_PROBES=110 \
  go test -count=1 -timeout 30m ./test/e2e -run 'TestProbesAgentLoad$|TestProbesLatency$' -v | grep -v '^=== '

echo "== Agent memory, idle and with 110 pods (issue 4)"
PEAPOD_BENCH_AGENTMEM=110 \
  go test -count=1 -timeout 30m ./test/e2e -run 'TestAgentMemBench$' -v | grep -v '^=== '

#!/usr/bin/env bash
# Runtime benchmark (issue 3): a pod sandbox + one busybox container
# started, p50/p99 over $N runs, teardown, and $BURST pods started at once;
# side by side with `podman kube play` of the same pod and image.
# Root, Debian 12. Installs podman (Debian package) if missing.
# Figures go to docs/benchmarks.md under "Runtime".
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
N=${N:-50}
BURST=${BURST:-100}
work=$(mktemp -d "${TMPDIR:-/tmp}/peapod-bench-rt-XXXXXX")
trap 'rm -rf "$work"' EXIT
hack/build-busybox-image.sh "$work/busybox.tar" >/dev/null

pct() { # pct P < values (ms, one per line)
  sort -n | awk -v p="$1" '{v[NR]=$1} END {i=int(p*(NR-1)+0.5)+1; printf "%.1fms", v[i]}'
}

go build -o "$work/bench-runtime" ./hack/bench-runtime
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| what | p50 | p99 |"
echo "|-|-|-|"
"$work/bench-runtime" -label "peapod" -image "$work/busybox.tar" -n "$N" -burst "$BURST"
"$work/bench-runtime" -label "peapod (4 warm sandboxes)" -warm 4 -image "$work/busybox.tar" -n "$N" -burst "$BURST"

if ! command -v podman >/dev/null; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null
fi
mkdir -p "$work/podman"
cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = []
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$work/containers.conf"
pm() { podman --root "$work/podman/root" --runroot "$work/podman/run" "$@"; }
pm load -q -i "$work/busybox.tar" >/dev/null
pod() { # pod NAME
  cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  containers:
  - name: c
    image: docker.io/library/busybox:latest
    imagePullPolicy: Never
    command: ["sleep", "3600"]
YAML
}
now() { date +%s%N; }
: >"$work/start" ; : >"$work/down"
for i in $(seq 1 "$N"); do
  pod "bench$i" >"$work/p.yaml"
  t0=$(now); pm kube play "$work/p.yaml" >/dev/null 2>&1; t1=$(now)
  pm pod rm -f -t 0 "bench$i" >/dev/null 2>&1; t2=$(now)
  echo "$(( (t1 - t0) / 1000 ))" | awk '{print $1/1000}' >>"$work/start"
  echo "$(( (t2 - t1) / 1000 ))" | awk '{print $1/1000}' >>"$work/down"
done
echo "| podman kube play (pod + container started) | $(pct 0.5 <"$work/start") | $(pct 0.99 <"$work/start") |"
echo "| podman pod rm -f -t 0 (teardown) | $(pct 0.5 <"$work/down") | $(pct 0.99 <"$work/down") |"
for i in $(seq 1 "$BURST"); do pod "burst$i" >"$work/b$i.yaml"; done
t0=$(now)
for i in $(seq 1 "$BURST"); do pm kube play "$work/b$i.yaml" >/dev/null 2>&1 & done
wait
t1=$(now)
echo "| podman $BURST pods burst | $(( (t1 - t0) / 1000000 ))ms total | $(( (t1 - t0) / 1000000 / BURST ))ms per pod |"
for i in $(seq 1 "$BURST"); do pm pod rm -f -t 0 "burst$i" >/dev/null 2>&1 & done
wait
pm system reset -f >/dev/null 2>&1 || true
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

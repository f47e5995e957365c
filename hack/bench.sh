#!/usr/bin/env bash
# Runs every benchmark peapod records in docs/benchmarks.md. Root, Debian.
# Each area adds its script as hack/bench-<area>.sh; this runs them in turn.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
shopt -s nullglob
ran=0
for b in hack/bench-*.sh; do
  echo "== $b"
  bash "$b"
  ran=$((ran + 1))
done
echo "bench: ran $ran benchmark scripts; figures go to docs/benchmarks.md"

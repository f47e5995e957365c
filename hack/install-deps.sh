#!/usr/bin/env bash
# Installs the Debian packages peapod needs, idempotently. Run as root.
set -euo pipefail

PKGS=(runc conmon catatonit containernetworking-plugins busybox-static iptables iproute2 etcd-server etcd-client jq ca-certificates)
if [[ "${PEAPOD_WITH_PODMAN:-0}" == 1 ]]; then PKGS+=(podman); fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present"
fi

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  echo "install-deps: add /usr/local/go/bin to PATH" >&2
fi

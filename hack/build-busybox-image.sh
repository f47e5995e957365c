#!/usr/bin/env bash
# build-busybox-image.sh OUT.tar
#
# Writes a docker-archive (the `docker save` format: manifest.json, the image
# config and one layer tar) of Debian's busybox-static, tagged
# docker.io/library/busybox:latest, with the applet symlinks, /etc/passwd and
# /etc/group (root, nobody), /tmp 1777 and a PATH in the config. No network;
# the output is byte-for-byte reproducible (fixed mtimes, owners, order).
# Needs /bin/busybox from the busybox-static package (hack/install-deps.sh).
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 OUT.tar" >&2
  exit 2
fi
out=$1
busybox=${BUSYBOX:-/bin/busybox}
if ! [[ -x $busybox ]] || ! "$busybox" --list-full >/dev/null 2>&1; then
  echo "$0: $busybox is not busybox (install busybox-static: hack/install-deps.sh)" >&2
  exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
  echo "$0: $busybox is dynamically linked; the image needs busybox-static" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/peapod-busybox-XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 022
export LC_ALL=C

# The root filesystem.
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
install -m 0755 "$busybox" "$root/bin/busybox"
# One absolute symlink to /bin/busybox per applet. As root, busybox makes
# them itself in one process (RECIPES.md section 1); otherwise one ln each.
if ((EUID == 0)); then
  chroot "$root" /bin/busybox --install -s
else
  while read -r applet; do
    [[ $applet == bin/busybox ]] && continue
    ln -s /bin/busybox "$root/$applet"
  done < <("$busybox" --list-full)
fi
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
GROUP
chmod 0644 "$root/etc/passwd" "$root/etc/group"

reproducible=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu)

# The layer, its diffID (sha256 of the uncompressed tar) and the config.
img=$work/image
mkdir -p "$img"
tar "${reproducible[@]}" -C "$root" -cf "$work/layer.tar" .
diffid=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir -p "$img/$diffid"
mv "$work/layer.tar" "$img/$diffid/layer.tar"

printf '%s' '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",'\
'"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},'\
'"rootfs":{"type":"layers","diff_ids":["sha256:'"$diffid"'"]},'\
'"history":[{"created":"1970-01-01T00:00:00Z","created_by":"hack/build-busybox-image.sh (Debian busybox-static)"}]}' \
  >"$work/config.json"
configid=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$img/$configid.json"

printf '%s\n' '[{"Config":"'"$configid"'.json","RepoTags":["docker.io/library/busybox:latest"],"Layers":["'"$diffid"'/layer.tar"]}]' \
  >"$img/manifest.json"

mkdir -p "$(dirname "$out")"
tar "${reproducible[@]}" -C "$img" -cf "$out.tmp" manifest.json "$configid.json" "$diffid/layer.tar"
mv "$out.tmp" "$out"
echo "$out: docker.io/library/busybox:latest sha256:$configid"

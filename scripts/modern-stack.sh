#!/usr/bin/env bash
# Sets up the modern stack socktui's tests run beside Debian 12's: a Debian 13
# (trixie) root filesystem with systemd 257 and Podman 5.4 (Quadlet), which
# sandbox.Options{Stack: sandbox.StackTrixie} enters by chroot (see
# sandbox/modern.go and environment.md, "A modern stack").
#
#   /var/cache/socktui/trixie-rootfs.tar.zst  the cache: debootstrap's tree, fixed up
#   /var/cache/socktui/trixie-root/           that tree unpacked, shared read-only by
#                                             every sandbox (the lower layer of an overlay)
#
# Built once with debootstrap from the Debian mirror of the host's sources
# (about a minute and 430 MB), then unpacked from the tarball when the tree is
# missing. Needs root. Safe to run again: it does only what is missing.
# SOCKTUI_CACHE overrides /var/cache/socktui (the tests read the same variable).
set -euo pipefail

cache=${SOCKTUI_CACHE:-/var/cache/socktui}
tarball=$cache/trixie-rootfs.tar.zst
root=$cache/trixie-root
stamp=.socktui-stack # in root: names the versions; the tree is unpacked beside it and moved in whole
packages=systemd,dbus,dbus-user-session,podman,runc,crun,conmon,passt,slirp4netns,socat,uidmap,lighttpd,procps

say() { echo "modern-stack: $*"; }

if [ -f "$root/$stamp" ]; then
  say "ready: $root ($(cat "$root/$stamp"))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "modern-stack: $root is missing; run as root (make modern-stack)" >&2
  exit 1
fi
mkdir -p "$cache"

# need TOOL installs the Debian package of that name when TOOL is missing.
need() {
  command -v "$1" >/dev/null 2>&1 && return
  say "installing $1"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$1" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$1" >/dev/null; }
}
need zstd

if [ ! -f "$tarball" ]; then
  need debootstrap
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  build=$(mktemp -d "$cache/trixie-build.XXXXXX")
  chmod 0755 "$build" # the root of the root filesystem
  trap 'rm -rf "$build"' EXIT
  say "building Debian 13 (trixie) with debootstrap from $mirror into $build (about a minute)"
  # dbus in the list: without it debootstrap fails on libpam-systemd's
  # dbus alternative (environment.md).
  if ! debootstrap --variant=minbase --include="$packages" \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    trixie "$build" "$mirror" >"$build.log" 2>&1; then
    tail -20 "$build.log" >&2
    echo "modern-stack: debootstrap failed; its log: $build.log" >&2
    exit 1
  fi
  rm -f "$build.log"
  # The user manager would start gpg-agent, dirmngr and keyboxd sockets of
  # its own in every sandbox: nothing socktui tests, only noise in listings.
  rm -f "$build"/etc/systemd/user/sockets.target.wants/{gpg,dirmngr,keyboxd}*
  rm -rf "$build"/var/cache/apt/archives/*.deb "$build"/var/lib/apt/lists/*
  versions=$(dpkg-query --admindir="$build/var/lib/dpkg" -W -f='${Package} ${Version}\n' systemd podman | paste -sd, | sed 's/,/, /g')
  echo "Debian 13 (trixie): $versions" >"$build/$stamp"
  say "caching $tarball"
  tar -C "$build" --zstd -cf "$tarball.new" . && mv "$tarball.new" "$tarball"
  rm -rf "$build"
  trap - EXIT
fi

say "unpacking $tarball into $root"
rm -rf "$root.new"
mkdir -p "$root.new"
tar -C "$root.new" --zstd -xf "$tarball"
chmod 0755 "$root.new" # the root of the root filesystem
[ -f "$root.new/$stamp" ] || { echo "modern-stack: $tarball has no $stamp: remove it and run again" >&2; exit 1; }
rm -rf "$root"
mv "$root.new" "$root"
say "ready: $root ($(cat "$root/$stamp"))"

#!/usr/bin/env bash
# Installs the Debian packages socktui's demo and tests need, when missing.
# Needs root (apt-get). Safe to run again: it installs only what is absent.
set -euo pipefail

# command -> Debian package that brings it
declare -A need=(
  [systemd]=systemd
  [systemctl]=systemd
  [podman]=podman
  [runc]=runc
  [conmon]=conmon
  [socat]=socat
  [tmux]=tmux
  [newuidmap]=uidmap
  [slirp4netns]=slirp4netns # rootless Podman's network, for the rootless sandbox's published ports
  [make]=make
  [lighttpd]=lighttpd # a socket-activated server socktui did not write, for the probe tests
  [sshd]=openssh-server # the test hosts' sshd, for socktui --host over ssh (sandbox/testhost)
  [ssh]=openssh-client  # socktui --host runs the system ssh client
  [dbus-daemon]=dbus     # the system bus of the system sandbox (sandbox.StartSystem), for --system
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# dbus-user-session gives the user manager a session bus ($XDG_RUNTIME_DIR/bus).
dpkg -s dbus-user-session >/dev/null 2>&1 || missing+=(dbus-user-session)

# Debian 13's Podman package, unpacked (never installed) into a fixed folder:
# its Quadlet generator checks the .container files socktui new writes
# (quadlet -dryrun), which this host's Podman 4.3 has none of. A private apt
# configuration with a trixie line leaves the host's sources alone.
trixie_podman=/var/cache/socktui/trixie-podman
if [ ! -x "$trixie_podman/usr/libexec/podman/quadlet" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: $trixie_podman is missing; run as root to fetch Debian 13's podman package" >&2
    exit 1
  fi
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror:-http://deb.debian.org/debian} trixie main" >"$apt_dir/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::archives=$apt_dir/archives" -o APT::Sandbox::User=root)
  echo "install-deps: fetching Debian 13's podman package into $trixie_podman"
  apt-get "${apt_opts[@]}" -qq update
  (cd "$apt_dir" && apt-get "${apt_opts[@]}" -qq download podman 2>/dev/null)
  mkdir -p "$(dirname "$trixie_podman")"
  rm -rf "$trixie_podman.new"
  dpkg-deb -x "$apt_dir"/podman_*.deb "$trixie_podman.new"
  mv "$trixie_podman.new" "$trixie_podman"
  rm -rf "$apt_dir"
fi

# The modern stack the tests also run on: Debian 13's systemd 257 and Podman
# 5.4, a root filesystem made once with debootstrap (scripts/modern-stack.sh).
"$(dirname "$0")/modern-stack.sh"

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# openssh-server's postinst would start sshd on port 22 of this machine where
# no policy-rc.d forbids it: the tests run their own sshd in a namespace.
policy_rc=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy_rc=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\n# Written by socktui install-deps while it installs packages.\nexit 101\n' >"$policy_rc"
  chmod 755 "$policy_rc"
  trap 'rm -f "$policy_rc"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

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
  [make]=make
  [lighttpd]=lighttpd # a socket-activated server socktui did not write, for the probe tests
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# dbus-user-session gives the user manager a session bus ($XDG_RUNTIME_DIR/bus).
dpkg -s dbus-user-session >/dev/null 2>&1 || missing+=(dbus-user-session)

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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

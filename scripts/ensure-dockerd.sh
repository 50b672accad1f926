#!/usr/bin/env bash
# Installs, if missing, the Docker engine the docker sandbox backend's tests start by
# hand: Debian's `docker.io` package (dockerd, containerd, runc, docker-init). Idempotent:
# does nothing when dockerd is present. It starts no daemon: each test binary starts its
# own dockerd in a temporary directory (cadre_sandbox::test_engine) and stops it when the
# tests end. `debootstrap` comes along, for `cadre sandbox image build --from debootstrap`.
set -euo pipefail

missing=()
command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)

if [ ${#missing[@]} -eq 0 ]; then
  echo "==> docker engine present: $(/usr/sbin/dockerd --version 2>/dev/null || dockerd --version) (the docker sandbox tests start their own dockerd)"
  exit 0
fi

echo "==> installing for the docker sandbox backend: ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "!! cannot install ${missing[*]} here (not root, no apt-get)." >&2
  echo "!! The docker sandbox tests skip (or fail under CADRE_REQUIRE_DOCKER=1) without an engine." >&2
  exit 1
fi
# The package may have started a system dockerd (where an init system runs services);
# the tests do not use it, and it is left as the package set it up.
echo "==> installed: ${missing[*]} ($(/usr/sbin/dockerd --version 2>/dev/null || true))"

#!/usr/bin/env bash
# Installs, if missing, the system tools Cadre's code sandbox uses: bubblewrap (bwrap),
# util-linux (prlimit, setpriv) and python3. Idempotent: does nothing when all are present.
set -euo pipefail

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
{ command -v prlimit >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1; } || missing+=(util-linux)
[ -x /usr/bin/python3 ] || missing+=(python3)

if [ ${#missing[@]} -eq 0 ]; then
  echo "==> sandbox tools present: $(bwrap --version), prlimit, setpriv, /usr/bin/python3"
  exit 0
fi

echo "==> installing sandbox tools: ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "==> installed: ${missing[*]}"
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "==> installed: ${missing[*]}"
else
  echo "!! cannot install ${missing[*]} here (not root, no apt-get)." >&2
  echo "!! Install them with your package manager; until then code execution is disabled." >&2
  exit 1
fi

#!/usr/bin/env bash
# Installs, if missing, the system tools Cadre's code sandbox uses: bubblewrap (bwrap),
# util-linux (prlimit, setpriv) and python3, the Docker engine of the docker backend's
# tests (scripts/ensure-dockerd.sh), and the test tool openapi-spec-validator (pip).
# Idempotent: does nothing when all are present.
set -euo pipefail

"$(dirname "$0")/ensure-dockerd.sh"

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
{ command -v prlimit >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1; } || missing+=(util-linux)
[ -x /usr/bin/python3 ] || missing+=(python3)

# The API tests validate /openapi.json with openapi-spec-validator (OpenAPI 3.1 aware).
ensure_openapi_validator() {
  if python3 -c "import openapi_spec_validator" 2>/dev/null; then
    echo "==> openapi-spec-validator present (API tests validate /openapi.json with it)"
  else
    echo "==> installing openapi-spec-validator (pip) for the OpenAPI document test"
    python3 -m pip install --quiet openapi-spec-validator
    echo "==> installed: openapi-spec-validator"
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "==> sandbox tools present: $(bwrap --version), prlimit, setpriv, /usr/bin/python3"
  ensure_openapi_validator
  exit 0
fi

echo "==> installing sandbox tools: ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "==> installed: ${missing[*]}"
  ensure_openapi_validator
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "==> installed: ${missing[*]}"
  ensure_openapi_validator
else
  echo "!! cannot install ${missing[*]} here (not root, no apt-get)." >&2
  echo "!! Install them with your package manager; until then code execution is disabled." >&2
  exit 1
fi

#!/usr/bin/env bash
# Installs, if missing, what `make deploy-check` (scripts/check-deploy.sh) and, with
# --smoke, `make deploy-smoke` (deploy/smoke.sh) need, and says what it does. Idempotent:
# a warm run installs nothing and takes well under a second.
#
#   apt (Debian/Ubuntu, as root or through sudo):
#     docker-compose   the Python Compose 1.29 (`docker-compose config`, the smoke stack);
#                      no Compose v2 plugin is installable on the offline CI machines
#     prometheus       for promtool (`check config`, `check rules`, `test rules`); the
#                      daemon is not started
#     python3-venv     where `python3 -m venv` needs it
#     --smoke: docker.io and debootstrap (scripts/ensure-dockerd.sh)
#   pip, in a virtualenv under the cache directory (never system-wide), pinned:
#     kubernetes-validate  offline schema validation of deploy/k8s (kubeconform is not
#                          installable here: it is a GitHub release download)
#     check-jsonschema     offline validation of the GitHub workflow and the compose file
#                          against their vendored schemas
#     yamllint             YAML style of deploy/ and .github/
#
# Prints the virtualenv's bin directory on stdout (last line); everything else on stderr.
set -euo pipefail

smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1

cache=${XDG_CACHE_HOME:-$HOME/.cache}/cadre-deploy
venv=$cache/venv
# Bump together with the check script's expectations.
pip_pins=(kubernetes-validate==1.37.0 check-jsonschema==0.39.0 yamllint==1.38.0)

say() { echo "==> $*" >&2; }

apt_install() {
  say "installing with apt: $*"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    echo "!! cannot install $* here (not root, no sudo or apt-get); install them by hand" >&2
    exit 1
  fi
}

missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
  # Debian's prometheus package may start its daemon where an init system runs; the
  # checks only use promtool.
fi

if [ "$smoke" -eq 1 ]; then
  "$(dirname "$0")/ensure-dockerd.sh" >&2
fi

marker=$venv/.cadre-pins
if [ -x "$venv/bin/python" ] && [ "$(cat "$marker" 2>/dev/null)" = "${pip_pins[*]}" ]; then
  say "deploy check tools present: $(docker-compose version --short 2>/dev/null || echo docker-compose), $(promtool --version 2>&1 | head -1 | awk '{print "promtool " $3}'), ${pip_pins[*]} (in $venv)"
else
  say "installing ${pip_pins[*]} into a virtualenv at $venv (pip, from PyPI)"
  mkdir -p "$cache"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pip_pins[@]}" >&2
  echo "${pip_pins[*]}" >"$marker"
  say "installed: ${pip_pins[*]}"
fi
echo "$venv/bin"

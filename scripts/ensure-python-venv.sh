#!/usr/bin/env bash
# ensure-python-venv.sh NAME PACKAGE==VERSION [IMPORT_CHECK]
# Installs a pinned Python package into a virtualenv of its own under the cache directory
# (cadre-tools/NAME-VERSION), once, and prints that virtualenv's python. Tests that drive
# Cadre with a real client or server from PyPI use it (scripts/ensure-openai-sdk.sh,
# scripts/ensure-mcp-sdk.sh). Not the system's Python: the sandbox tests look at which
# packages the machine's Python has.
set -euo pipefail
name=$1
requirement=$2
package=${requirement%%==*}
version=${requirement##*==}
venv=${XDG_CACHE_HOME:-$HOME/.cache}/cadre-tools/$name-$version
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('$package') != '$version')" 2>/dev/null; then
  echo "==> installing $package $version from PyPI into its own virtualenv (pip, once)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirement" >&2
fi
echo "$venv/bin/python"

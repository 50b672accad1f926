#!/usr/bin/env bash
# Installs OpenAI's official Python SDK (pinned) into a virtualenv of its own under the
# cache directory, once, and prints that virtualenv's python. The OpenAI-compatible
# endpoint's test (crates/cadre-cli/tests/openai_compat.rs) drives Cadre with it, as a
# user's own code would. Not the system's Python: the sandbox tests look at which
# packages the machine's Python has.
set -euo pipefail
version=${OPENAI_SDK_VERSION:-3.63.0}
venv=${XDG_CACHE_HOME:-$HOME/.cache}/cadre-tools/openai-$version
if ! "$venv/bin/python" -c "import openai, sys; sys.exit(openai.__version__ != '$version')" 2>/dev/null; then
  echo "==> installing the openai Python SDK $version into its own virtualenv (pip, once)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "openai==$version" >&2
fi
echo "$venv/bin/python"

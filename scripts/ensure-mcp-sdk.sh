#!/usr/bin/env bash
# Installs the official MCP Python SDK (the `mcp` package, pinned) into a virtualenv of
# its own under the cache directory, once, and prints that virtualenv's python. The MCP
# tests (crates/cadre-mcp/tests, crates/cadre-cli/tests/mcp_tools.rs) run a real FastMCP
# server from it, over stdio and streamable HTTP, as an operator's server would be. Not
# the system's Python: the sandbox tests look at which packages the machine's Python has.
set -euo pipefail
version=${MCP_SDK_VERSION:-2.3.0}
venv=${XDG_CACHE_HOME:-$HOME/.cache}/cadre-tools/mcp-$version
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$version')" 2>/dev/null; then
  echo "==> installing the MCP Python SDK (mcp $version) into its own virtualenv (pip, once)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "mcp==$version" >&2
fi
echo "$venv/bin/python"

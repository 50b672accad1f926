#!/usr/bin/env bash
# Prints the python of a virtualenv with the official MCP Python SDK (the `mcp` package,
# pinned), installing it once. The MCP tests (crates/cadre-mcp/tests,
# crates/cadre-cli/tests/mcp_tools.rs, web/e2e/tools.spec.ts) run a real MCP server from
# it (crates/cadre-mcp/tests/fixtures/notebook_server.py), over stdio and streamable HTTP,
# as an operator's server would be.
set -euo pipefail
exec "$(dirname "$0")/ensure-python-venv.sh" mcp "mcp==${MCP_SDK_VERSION:-2.3.0}"

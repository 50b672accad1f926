#!/usr/bin/env bash
# Prints the python of a virtualenv with OpenAI's official Python SDK (pinned), installing
# it once. The OpenAI-compatible endpoint's test (crates/cadre-cli/tests/openai_compat.rs)
# drives Cadre with it, as a user's own code would.
set -euo pipefail
exec "$(dirname "$0")/ensure-python-venv.sh" openai "openai==${OPENAI_SDK_VERSION:-3.63.0}"

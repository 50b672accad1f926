#!/usr/bin/env bash
# Installs, if missing, what the web UI needs: the npm packages of web/ (`npm ci`, re-run
# only when package-lock.json changed) and, with --browser, Debian's Chromium for the
# browser tests (Playwright drives it; no browser is ever downloaded). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null; then
  echo "error: the web UI needs Node.js 20.19+ and npm (apt-get install nodejs npm)" >&2
  exit 1
fi

if [ "${1:-}" != "--browser" ]; then
  :
elif [ -x /usr/bin/chromium ]; then
  echo "==> Chromium present: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
else
  echo "==> installing Chromium (Debian package) for the browser tests"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
  echo "==> installed: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
fi

stamp=web/node_modules/.package-lock.sha256
wanted=$(sha256sum web/package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  echo "==> web/node_modules up to date"
else
  echo "==> installing the npm packages of web/ (npm ci; no browser download)"
  (cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$wanted" > "$stamp"
fi

#!/usr/bin/env bash
# The web UI's API types (web/src/lib/api/schema.d.ts) are generated from the OpenAPI
# document the server binary prints (`cadre openapi`).
#   scripts/api-types.sh check   fails, with the diff, when the committed file is stale
#   scripts/api-types.sh write   regenerates it
# CADRE_BIN picks the binary (default: the debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-check}
bin=${CADRE_BIN:-target/debug/cadre}
if [ ! -x "$bin" ]; then
  echo "api-types: no cadre binary at $bin (cargo build -p cadre-cli first)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" openapi > "$tmp/openapi.json"
committed=web/src/lib/api/schema.d.ts
web/node_modules/.bin/openapi-typescript "$tmp/openapi.json" -o "$tmp/schema.d.ts" --empty-objects-unknown --silent
case "$mode" in
  write)
    cp "$tmp/schema.d.ts" "$committed"
    echo "==> regenerated $committed"
    ;;
  check)
    if diff -u "$committed" "$tmp/schema.d.ts" > "$tmp/diff"; then
      echo "==> web API types match the server's OpenAPI document"
    else
      cat "$tmp/diff"
      echo "web API types are stale: run \`make api-types\` and commit $committed" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 check|write" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Property-based API test (`make schemathesis`, part of `make test`): Schemathesis
# generates requests from the server's own /openapi.json (valid and invalid bodies,
# parameters, headers) and sends them, logged in as the admin, to a fresh `cadre serve`
# (SQLite, in-process queue and bus, the offline demo model). It fails on any 5xx and on
# any response that its schema does not describe (status code, content type, headers,
# body).
#
# Schemathesis is pinned and installed once into its own virtualenv under the cache
# directory, not into the system's Python: the sandbox tests look at which packages the
# machine's Python has.
#
# Settings: CADRE_BIN (default target/debug/cadre), SCHEMATHESIS_EXAMPLES (examples per
# operation, default 25), SCHEMATHESIS_SEED (default 1: the same cases every run, so a red
# run replays; another seed explores others), XDG_CACHE_HOME (cache root).
#
# Phases: coverage, fuzzing and stateful. The examples phase replays the `example` values
# of the document, which has none (the schemas are generated from the Rust types), so it
# would only report every operation as skipped.
#
# Two operations are left out: signing out (`POST /auth/logout`, `DELETE /auth/session`)
# revokes the very token the rest of the run authenticates with, after which every
# later request would only test the 401 path.
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.32.5
bin=${CADRE_BIN:-target/debug/cadre}
examples=${SCHEMATHESIS_EXAMPLES:-25}
venv=${XDG_CACHE_HOME:-$HOME/.cache}/cadre-tools/schemathesis-$version

if [ ! -x "$bin" ]; then
  echo "schemathesis: no cadre binary at $bin (cargo build -p cadre-cli first)" >&2
  exit 1
fi
if [ -x "$venv/bin/st" ] && "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
  echo "==> schemathesis $version present"
else
  echo "==> installing schemathesis $version into its own virtualenv (pip, once)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
  echo "==> installed: $("$venv/bin/st" --version)"
fi

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

email=admin@schemathesis.test
password=schemathesis-admin-password
CADRE_DATA_DIR=$work/data CADRE_BIND=127.0.0.1:0 CADRE_SCRIPTED_DELAY_MS=0 \
  CADRE_ADMIN_EMAIL=$email CADRE_ADMIN_PASSWORD=$password CADRE_LOG=warn \
  "$bin" serve > "$work/stdout" 2> "$work/server.log" < /dev/null &
server=$!
base=
for _ in $(seq 1 200); do
  base=$(grep -m1 -o 'http://[0-9.:]*' "$work/stdout" 2>/dev/null || true)
  [ -n "$base" ] && break
  if ! kill -0 "$server" 2>/dev/null; then
    echo "schemathesis: cadre serve exited before listening:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.05
done
if [ -z "$base" ]; then
  echo "schemathesis: cadre serve did not announce its address" >&2
  exit 1
fi
token=$(curl -fsS "$base/api/v1/auth/token" \
  --data-urlencode grant_type=password --data-urlencode "username=$email" \
  --data-urlencode "password=$password" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

echo "==> schemathesis against $base/openapi.json ($examples examples per operation)"
started=$(date +%s)
status=0
# From the temporary directory: Schemathesis keeps its example database in the working
# directory.
(cd "$work" && "$venv/bin/st" --no-color run "$base/openapi.json" \
  --header "Authorization: Bearer $token" \
  --max-examples "$examples" \
  --phases coverage,fuzzing,stateful \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --exclude-path /api/v1/auth/logout --exclude-name 'DELETE /api/v1/auth/session' \
  --seed "${SCHEMATHESIS_SEED:-1}" --report-dir "$work/report") || status=$?
echo "==> schemathesis finished in $(($(date +%s) - started)) s (exit $status)"
if [ "$status" -ne 0 ]; then
  echo "schemathesis: the server's log:" >&2
  grep -iE 'error|panic' "$work/server.log" | tail -20 >&2 || true
fi
exit "$status"

#!/usr/bin/env bash
# Checks the dependency tree against deny.toml with cargo-deny (installed, if missing, by
# scripts/ensure-cargo-deny.sh):
#   - licenses, bans and sources: always;
#   - advisories: against the RustSec advisory database. That database is published only
#     as a git repository on GitHub (we found no crates.io, PyPI, npm or Debian package
#     that carries a copy), so this step refreshes the local copy ($CARGO_HOME/advisory-dbs) when GitHub
#     answers, then checks offline against the copy if it was fetched within 90 days
#     (cargo-deny's staleness limit). Without such a copy it prints why on one line and
#     goes on: a missing network never fails the build. CADRE_REQUIRE_ADVISORIES=1 makes
#     a missing or stale database an error instead.
# CARGO picks the cargo binary (default: cargo).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}

echo "==> cargo deny: licenses, bans, sources (deny.toml; \`cargo deny check bans\` shows why a crate is in the tree)"
"$cargo" deny --locked check --hide-inclusion-graph licenses bans sources

echo "==> cargo deny: advisories (RustSec advisory database)"
db_url=https://github.com/RustSec/advisory-db # cargo-deny's default database
db_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The copy cargo-deny keeps of the default database, if any.
find_copy() {
  for dir in "$db_root"/advisory-db-*; do
    if [ -d "$dir/.git" ]; then echo "$dir"; return; fi
  done
}
# When a copy was last fetched, as cargo-deny reckons it: .git/FETCH_HEAD, else .git/HEAD.
fetch_stamp() { if [ -f "$1/.git/FETCH_HEAD" ]; then echo "$1/.git/FETCH_HEAD"; else echo "$1/.git/HEAD"; fi; }

copy=$(find_copy)
if [ -n "$copy" ]; then
  had_fetch_head=no
  [ -f "$copy/.git/FETCH_HEAD" ] && had_fetch_head=yes
  stamp_before=$(stat -c %Y "$(fetch_stamp "$copy")")
fi

# Refresh only when GitHub answers: a fetch that fails still rewrites FETCH_HEAD, which
# would make an old copy look freshly fetched.
fetched=no
if timeout 30 git ls-remote --exit-code --heads "$db_url" main >/dev/null 2>"$log"; then
  if timeout 300 "$cargo" deny --locked fetch db >"$log" 2>&1; then
    fetched=yes
  elif [ -n "$copy" ]; then
    if [ "$had_fetch_head" = yes ]; then
      touch -d "@$stamp_before" "$copy/.git/FETCH_HEAD"
    else
      rm -f "$copy/.git/FETCH_HEAD"
    fi
  fi
fi

not_checked() {
  if [ "${CADRE_REQUIRE_ADVISORIES:-}" = 1 ]; then
    echo "error: advisories not checked: $1" >&2
    exit 1
  fi
  echo "==> advisories NOT checked: $1"
  exit 0
}

copy=$(find_copy)
if [ "$fetched" = yes ]; then
  echo "==> advisory database refreshed"
elif [ -z "$copy" ]; then
  reason=$(grep -m1 -oiE "could not resolve host[^']*|failed to connect[^']*|timed out[^']*" "$log" || true)
  not_checked "no RustSec advisory database on this machine, and it could not be fetched from GitHub (${reason:-see \`cargo deny fetch db\`}); run \`cargo deny fetch db\` where GitHub is reachable, or copy $db_root from such a machine"
else
  stamp=$(stat -c %Y "$(fetch_stamp "$copy")")
  fetched_on=$(date -u -d "@$stamp" +%Y-%m-%d)
  if [ $(( ($(date +%s) - stamp) / 86400 )) -ge 90 ]; then
    not_checked "the local RustSec advisory database was fetched on $fetched_on, 90 days ago or more, and could not be refreshed from GitHub; run \`cargo deny fetch db\` where GitHub is reachable"
  fi
  echo "==> could not refresh the advisory database from GitHub; checking against the local copy fetched on $fetched_on"
fi
"$cargo" deny --locked --offline check advisories

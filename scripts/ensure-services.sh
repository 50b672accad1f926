#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis servers the integration tests use are running on
# 127.0.0.1, installing and starting them if needed (idempotent), then prints the
# environment the tests read. Usage: eval "$(scripts/ensure-services.sh)".
# Everything human-readable goes to stderr so stdout stays eval-able.
set -euo pipefail
say() { echo "==> $*" >&2; }

PG_URL="${CADRE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
REDIS_URL="${CADRE_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  say "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting PostgreSQL $version on 127.0.0.1:5432"
  # Local trust auth for the test database, as on CI machines of this kind.
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q "cadre-test" "$hba" 2>/dev/null; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust # cadre-test' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { say "PostgreSQL did not start" ; exit 1; }
  as_root su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\" | grep -q 1 || createdb test" >&2
fi
say "PostgreSQL ready: $PG_URL"

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  say "starting Redis on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { say "Redis did not start"; exit 1; }
fi
say "Redis ready: $REDIS_URL"

echo "export CADRE_TEST_DATABASE_URL='$PG_URL'"
echo "export CADRE_TEST_REDIS_URL='$REDIS_URL'"

#!/bin/sh
# Writes the compose stack's secret files into this directory (git-ignored), each a
# random value, and never overwrites one that exists (delete a file to regenerate it;
# the database and Redis passwords are only applied when their volumes are created).
#
#   deploy/secrets/generate.sh            # then: docker compose -f deploy/docker-compose.yml up -d
#   deploy/secrets/generate.sh DIR        # into DIR instead (the smoke test's throw-away set)
#
# Files are mode 0644 inside a 0700 directory: the containers' users (cadre is uid 10001,
# postgres 999) must read the bind-mounted files, while on the host only the directory's
# owner can reach them. CADRE_ADMIN_PASSWORD=... sets the admin's password instead of a
# random one (first start only).
set -eu
dir=${1:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$dir"
chmod 0700 "$dir"

random() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

put() { # name value
  if [ -e "$dir/$1" ]; then
    echo "kept     $dir/$1"
  else
    (umask 022; printf '%s' "$2" >"$dir/$1")
    echo "wrote    $dir/$1"
  fi
}

put cadre_secret_key "$(random)"
put admin_password "${CADRE_ADMIN_PASSWORD:-$(random | cut -c1-24)}"
put postgres_password "$(random)"
put database_url "postgres://cadre:$(cat "$dir/postgres_password")@postgres:5432/cadre"
put redis_password "$(random)"
put redis_url "redis://:$(cat "$dir/redis_password")@redis:6379/0"
put metrics_token "$(random)"
put grafana_admin_password "$(random | cut -c1-24)"
echo "the admin login: ${CADRE_ADMIN_EMAIL:-admin@cadre.local} / the password in $dir/admin_password"

#!/bin/sh
# PostgreSQL for the offline smoke test (deploy/smoke/docker-compose.local.yml): Debian's
# postgresql-15 doing what the official postgres image's entrypoint does with
# POSTGRES_USER, POSTGRES_DB and POSTGRES_PASSWORD_FILE, then running the server as the
# postgres user in the foreground (so SIGTERM from `docker stop` reaches it).
set -eu
bin=/usr/lib/postgresql/15/bin
data=/var/lib/postgresql/data
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

mkdir -p "$data" /var/run/postgresql
chown postgres:postgres "$data" /var/run/postgresql
chmod 0700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
  echo "postgres-standin: initialising $data (user $user, database $db)"
  pwfile=$(mktemp)
  cat "$POSTGRES_PASSWORD_FILE" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres "$bin/initdb" -D "$data" -U "$user" --pwfile="$pwfile" -E UTF8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$data/pg_hba.conf"
  as_postgres "$bin/pg_ctl" -D "$data" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$db" != postgres ]; then
    as_postgres "$bin/psql" -v ON_ERROR_STOP=1 -h /var/run/postgresql -p 5432 -U "$user" -d postgres \
      -qc "CREATE DATABASE \"$db\""
  fi
  as_postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups \
  "$bin/postgres" -D "$data" -c listen_addresses='*' -c port=5432 -c unix_socket_directories=/var/run/postgresql

#!/usr/bin/env bash
# The offline end-to-end test of deploy/ (`make deploy-smoke`; deploy/README.md, "The
# smoke test"). On a machine that can reach no image registry, as root:
#
#  1. starts a dockerd of its own (state in a temporary directory, images cached, see
#     below), stopped and cleaned up at the end however the script ends;
#  2. builds a Debian bookworm base image from a debootstrap root filesystem (cached)
#     with Debian's postgresql, redis-server, nginx-light and prometheus standing in for
#     the official images, and python3 + bubblewrap for the worker;
#  3. builds the api and worker images from deploy/Dockerfile with a `cadre` binary built
#     on the host (targets api-prebuilt / worker-prebuilt);
#  4. brings up deploy/docker-compose.yml with deploy/smoke/docker-compose.local.yml:
#     proxy (nginx), api x2, worker x2, postgres, redis, prometheus (Grafana, Loki and
#     promtail are not Debian packages and are left out), and waits for every healthcheck;
#  5. runs `cadre sandbox check` in the worker image with the minimal container settings;
#  6. through the proxy: logs in as the admin, creates a demo run, follows its SSE stream
#     and restarts the api replica holding the stream, then the other one (a rolling
#     restart); checks that the run completed, that the client got every durable event
#     1..n exactly once and in order across at least one reconnect, that its code ran in
#     the worker's sandbox, and that the WebSocket through the proxy replays the run;
#  7. checks through Prometheus's HTTP API that every api and worker target is up, the
#     alert rules are loaded, and the run shows in the metrics;
#  8. tears everything down: containers, networks, volumes, the dockerd.
#
# Settings: CADRE_BINARY (default target/release/cadre if present, else target/debug/cadre,
# relative to the repository), SMOKE_KEEP=1 (leave the stack up and wait for Enter before
# tearing down), XDG_CACHE_HOME (cache root).
#
# Networking without iptables: the dockerd runs with --iptables=false (it must not touch
# the host's firewall), so there is no NAT and no masquerading. That is enough here:
# containers on the compose network talk to each other over the Linux bridge directly,
# Docker's embedded DNS (127.0.0.11: service names, every replica's address for `api`
# and `worker`) works because dockerd answers it from inside each container's network
# namespace, and published ports reach the containers through docker-proxy, the
# userland proxy, which listens on the host port and connects to the container's address
# over the bridge. Containers cannot reach the internet (no masquerading), which nothing
# in the stack needs. The address pool is set explicitly (10.213.0.0/16) so the compose
# network never shadows the host's own routes.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
deploy=$repo/deploy
cache=${XDG_CACHE_HOME:-$HOME/.cache}/cadre-deploy
export DOCKER=${DOCKER:-/usr/bin/docker} # Debian's client, the engine's version (20.10)
project=cadresmoke
started=$(date +%s)

say() { printf '==> [%4ss] %s\n' "$(($(date +%s) - started))" "$*"; }
warn() { printf '!!  %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "deploy/smoke.sh starts its own dockerd and needs root" >&2
  exit 1
fi

# --- the binary -------------------------------------------------------------------------
binary=${CADRE_BINARY:-}
if [ -z "$binary" ]; then
  if [ -x "$repo/target/release/cadre" ]; then binary=target/release/cadre; else binary=target/debug/cadre; fi
fi
case $binary in /*) ;; *) binary=$repo/$binary ;; esac
if [ ! -x "$binary" ]; then
  echo "no cadre binary at $binary: build one (cargo build -p cadre-cli) or set CADRE_BINARY" >&2
  exit 1
fi
say "cadre binary: $binary ($(du -h "$binary" | cut -f1))"

# --- tools --------------------------------------------------------------------------------
"$repo/scripts/ensure-deploy-tools.sh" --smoke >/dev/null
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)

mkdir -p "$cache"
exec 9>"$cache/smoke.lock"
if ! flock -n 9; then
  say "another smoke test holds $cache/smoke.lock; waiting"
  flock 9
fi

# --- own dockerd, cleaned up on exit ------------------------------------------------------
# Short path: unix socket paths are limited to 108 bytes.
run=$(mktemp -d /tmp/cadre-smoke.XXXXXX)
# Images (and the build cache) persist between runs in the cache; everything else
# (containers, networks, volumes) is removed at the end of each run.
data_root=$cache/docker
export DOCKER_HOST=unix://$run/docker.sock
export COMPOSE_PROJECT_NAME=$project
export COMPOSE_HTTP_TIMEOUT=180
dockerd_pid=
compose_up=0
compose_files=(-f "$deploy/docker-compose.yml" -f "$deploy/smoke/docker-compose.local.yml")
client_pid=

compose() { docker-compose "${compose_files[@]}" "$@"; }

teardown() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null
  if [ "${SMOKE_KEEP:-0}" = 1 ] && [ "$compose_up" = 1 ]; then
    say "SMOKE_KEEP=1: the stack is up (DOCKER_HOST=$DOCKER_HOST, proxy http://127.0.0.1:${CADRE_HTTP_PORT:-?}); Enter tears it down"
    read -r _ </dev/tty || true
  fi
  if [ "$compose_up" = 1 ]; then
    say "tearing down: docker-compose down --volumes --remove-orphans"
    compose down --volumes --remove-orphans --timeout 10 >"$run/down.log" 2>&1 || cat "$run/down.log"
  fi
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    # Whatever a failed run left (and dangling images from rebuilds) goes too.
    $DOCKER ps -aq | xargs -r $DOCKER rm -f >/dev/null 2>&1
    $DOCKER network prune -f >/dev/null 2>&1
    $DOCKER volume prune -f >/dev/null 2>&1
    $DOCKER image prune -f >/dev/null 2>&1
    local left
    left=$($DOCKER ps -aq | wc -l)
    [ "$left" -eq 0 ] || warn "$left containers left behind"
    say "stopping the dockerd (pid $dockerd_pid)"
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$dockerd_pid" 2>/dev/null
    wait "$dockerd_pid" 2>/dev/null
  fi
  # The exec root holds the engine's and containerd's runtime state (mounts included).
  grep -o " $run/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf --one-file-system "$run"
  if [ "$status" -eq 0 ]; then
    say "smoke test passed in $(($(date +%s) - started)) s; nothing left running"
  else
    warn "smoke test FAILED (exit $status) after $(($(date +%s) - started)) s; torn down"
  fi
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints the recent logs of the given services (all when none), then fails.
fail() {
  local message=$1
  shift
  warn "$message"
  if [ "$compose_up" = 1 ]; then
    compose ps >&2 || true
    # What the failing healthchecks said.
    local id
    for id in $($DOCKER ps -aq --filter "label=com.docker.compose.project=$project"); do
      $DOCKER inspect -f '{{if .State.Health}}{{if ne .State.Health.Status "healthy"}}healthcheck of {{.Name}} ({{.State.Health.Status}}):{{range .State.Health.Log}}
  exit {{.ExitCode}}: {{.Output}}{{end}}{{end}}{{end}}' "$id" >&2 || true
    done
    local services=("$@")
    [ ${#services[@]} -gt 0 ] || services=(proxy api worker postgres redis prometheus)
    for service in "${services[@]}"; do
      echo "------------------------------ logs of $service (last 60 lines) ------------------------------" >&2
      compose logs --no-color --tail 60 "$service" >&2 || true
    done
  fi
  exit 1
}

say "starting a dockerd of our own (data root $data_root, socket $run/docker.sock, no iptables)"
mkdir -p "$data_root"
setsid /usr/sbin/dockerd \
  --data-root="$data_root" \
  --exec-root="$run/exec" \
  --pidfile="$run/dockerd.pid" \
  --host="$DOCKER_HOST" \
  --iptables=false --ip6tables=false --ip-masq=false \
  --bridge=none \
  --default-address-pool base=10.213.0.0/16,size=24 \
  --log-level=warn >"$run/dockerd.log" 2>&1 </dev/null &
dockerd_pid=$!
for i in $(seq 1 150); do
  $DOCKER version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { cat "$run/dockerd.log" >&2; fail "dockerd exited at start-up"; }
  [ "$i" -lt 150 ] || { tail -20 "$run/dockerd.log" >&2; fail "dockerd did not answer within 30 s"; }
  sleep 0.2
done
# A run that was killed before its teardown may have left containers in the cached data root.
$DOCKER ps -aq | xargs -r $DOCKER rm -f >/dev/null 2>&1 || true
$DOCKER network prune -f >/dev/null 2>&1 || true
$DOCKER volume prune -f >/dev/null 2>&1 || true
say "dockerd $($DOCKER version --format '{{.Server.Version}}') is up ($($DOCKER info --format '{{.Driver}}') storage)"

# --- base image -------------------------------------------------------------------------
# One Debian root filesystem for every local image: the cadre images' runtime (what
# deploy/Dockerfile installs with apt-get on debian:bookworm-slim, which a build here
# cannot do: no network) and the stand-ins for postgres, redis, nginx and prometheus.
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=ca-certificates,curl,wget,bubblewrap,python3,python3-numpy,python3-pandas,python3-matplotlib,postgresql-15,redis-server,nginx-light,prometheus
base_key=$(printf '%s %s %s v1' "$suite" "$mirror" "$packages" | sha256sum | cut -c1-12)
base_image=cadre-smoke/base:$base_key
base_tar=$cache/base-$base_key.tar
if $DOCKER image inspect "$base_image" >/dev/null 2>&1; then
  say "base image $base_image present (cached)"
else
  if [ ! -s "$base_tar" ]; then
    say "building the base root filesystem with debootstrap ($suite, minbase + $packages); takes a few minutes, cached in $base_tar"
    rootfs=$run/rootfs
    debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$run/debootstrap.log" 2>&1 ||
      { tail -30 "$run/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
    # Debian's maintainer scripts may have started nothing (no init), but leave caches.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale
    tar -C "$rootfs" -cf "$base_tar.partial" . && mv "$base_tar.partial" "$base_tar"
    rm -rf --one-file-system "$rootfs"
  fi
  say "importing $base_tar as $base_image"
  $DOCKER import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$base_tar" "$base_image" >/dev/null
fi
export SMOKE_BASE_IMAGE=$base_image

# --- cadre images ---------------------------------------------------------------------------
# A context of its own with just the binary and the entrypoint (the repository's would
# send gigabytes of target/). The legacy builder (DOCKER_BUILDKIT=0) builds every stage
# above the target; the prebuilt targets come before the node/rust stages, so neither
# is touched (see the Dockerfile's header).
context=$run/context
mkdir -p "$context/deploy/docker"
cp "$binary" "$context/cadre"
cp "$deploy/docker/entrypoint.sh" "$context/deploy/docker/entrypoint.sh"
export CADRE_IMAGE=cadre-smoke/api:latest CADRE_WORKER_IMAGE=cadre-smoke/worker:latest
for target in api worker; do
  tag=cadre-smoke/$target:latest
  say "building $tag (deploy/Dockerfile --target $target-prebuilt, FROM $base_image)"
  DOCKER_BUILDKIT=0 $DOCKER build --quiet -f "$deploy/Dockerfile" --target "$target-prebuilt" \
    --build-arg RUNTIME_BASE="$base_image" -t "$tag" "$context" >"$run/build-$target.log" 2>&1 ||
    { cat "$run/build-$target.log" >&2; fail "building $tag failed"; }
done

# --- secrets and ports ------------------------------------------------------------------
export SMOKE_SECRETS=$run/secrets
CADRE_ADMIN_PASSWORD=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n') \
  "$deploy/secrets/generate.sh" "$SMOKE_SECRETS" >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export CADRE_HTTP_PORT PROMETHEUS_PORT
CADRE_HTTP_PORT=$(free_port)
PROMETHEUS_PORT=$(free_port)
export CADRE_ADMIN_EMAIL=admin@cadre.local
# docker-compose 1.29 cannot pass systempaths=unconfined (the override uses privileged);
# no-new-privileges takes its place in the list (the sandbox needs no setuid binaries).
export CADRE_WORKER_SYSTEMPATHS_OPT=no-new-privileges:true

# --- the stack ------------------------------------------------------------------------------
services=(proxy api worker postgres redis prometheus)
say "docker-compose config: validating the main file with the smoke override"
compose config -q || fail "docker-compose config failed"
say "docker-compose up: ${services[*]} (api x2, worker x2 by deploy.replicas)"
compose_up=1
compose up -d --no-build "${services[@]}" >"$run/up.log" 2>&1 ||
  { cat "$run/up.log" >&2; fail "docker-compose up failed"; }

# Waits until every container of the project reports healthy.
wait_healthy() {
  local deadline=$(($(date +%s) + $1)) ids states unhealthy
  while :; do
    ids=$($DOCKER ps -aq --filter "label=com.docker.compose.project=$project")
    states=$($DOCKER inspect -f '{{index .Config.Labels "com.docker.compose.service"}} {{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' $ids)
    unhealthy=$(echo "$states" | awk '$4 != "healthy"')
    [ -z "$unhealthy" ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$states" >&2
      # shellcheck disable=SC2046
      fail "not healthy within $1 s: $(echo "$unhealthy" | awk '{print $2}' | tr '\n' ' ')" \
        $(echo "$unhealthy" | awk '{print $1}' | sort -u)
    fi
    sleep 1
  done
}
wait_healthy "${SMOKE_HEALTH_TIMEOUT:-180}"
count=$($DOCKER ps -q --filter "label=com.docker.compose.project=$project" | wc -l)
say "all $count containers healthy: $($DOCKER ps --filter "label=com.docker.compose.project=$project" --format '{{.Names}}' | sort | tr '\n' ' ')"
[ "$($DOCKER ps -q --filter "label=com.docker.compose.service=api" | wc -l)" -eq 2 ] || fail "expected 2 api replicas" api
[ "$($DOCKER ps -q --filter "label=com.docker.compose.service=worker" | wc -l)" -eq 2 ] || fail "expected 2 worker replicas" worker

# --- the sandbox with the minimal settings ----------------------------------------------
say "cadre sandbox check in $CADRE_WORKER_IMAGE with --security-opt seccomp=unconfined --security-opt systempaths=unconfined (non-root, no capabilities)"
if ! $DOCKER run --rm --network none --security-opt seccomp=unconfined --security-opt systempaths=unconfined \
  --cap-drop ALL "$CADRE_WORKER_IMAGE" sandbox check >"$run/sandbox-check.log" 2>&1; then
  cat "$run/sandbox-check.log" >&2
  fail "cadre sandbox check failed in the worker image with the minimal settings"
fi
sed 's/^/   /' "$run/sandbox-check.log" | tail -15

# --- a demo run through the proxy, across a rolling restart of the api replicas -----------
base=http://127.0.0.1:$CADRE_HTTP_PORT
token=$(cat "$SMOKE_SECRETS/metrics_token")
curl -fsS "$base/nginx-health" >/dev/null || fail "the proxy does not answer on $base" proxy
curl -fsS "$base/readyz" >/dev/null || fail "/readyz through the proxy failed" proxy api
say "demo run through the proxy at $base (login, POST /api/v1/runs, SSE stream)"
trigger=$run/first-message
python3 "$deploy/smoke/stream_client.py" --base "$base" --email "$CADRE_ADMIN_EMAIL" \
  --password-file "$SMOKE_SECRETS/admin_password" --trigger "$trigger" \
  --out "$run/client.json" --timeout 300 &
client_pid=$!
for _ in $(seq 1 600); do
  [ -e "$trigger" ] && break
  kill -0 "$client_pid" 2>/dev/null || break
  sleep 0.1
done
[ -e "$trigger" ] || fail "the client saw no message event (demo run not started?)" api worker proxy

container_ip() { $DOCKER inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
# Open SSE streams of one api container, from its /metrics (cadre_streams_open).
streams_open() {
  curl -fsS -m 3 -H "Authorization: Bearer $token" "http://$(container_ip "$1"):8080/metrics" 2>/dev/null |
    awk '/^cadre_streams_open\{.*transport="sse"/ {n += $NF} END {print n + 0}'
}
wait_container_healthy() {
  for _ in $(seq 1 120); do
    [ "$($DOCKER inspect -f '{{.State.Health.Status}}' "$1")" = healthy ] && return 0
    sleep 0.5
  done
  fail "api container $1 not healthy again within 60 s" api
}
mapfile -t apis < <($DOCKER ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=api")
# The run's creation, counted by the replica that took the POST (read now: the restarts
# below start the api counters again at 0).
created=0
for id in "${apis[@]}"; do
  n=$(curl -fsS -m 3 -H "Authorization: Bearer $token" "http://$(container_ip "$id"):8080/metrics" |
    awk '/^cadre_runs_created_total / {print $2}')
  created=$((created + ${n%.*}))
done
[ "$created" -ge 1 ] || fail "no api replica counted the run in cadre_runs_created_total" api
say "cadre_runs_created_total over the api replicas' /metrics: $created"
holder=
for id in "${apis[@]}"; do
  [ "$(streams_open "$id")" -ge 1 ] && holder=$id
done
order=("${apis[@]}")
if [ -n "$holder" ]; then
  say "the stream is held by api container $($DOCKER inspect -f '{{.Name}}' "$holder" | tr -d /) (cadre_streams_open on its /metrics): restarting it first"
  order=("$holder")
  for id in "${apis[@]}"; do [ "$id" = "$holder" ] || order+=("$id"); done
else
  warn "no api replica reports an open SSE stream on /metrics; restarting both, one after the other"
fi
for id in "${order[@]}"; do
  if [ -e "$run/client.json" ]; then
    say "the run ended before every replica was restarted"
    break
  fi
  name=$($DOCKER inspect -f '{{.Name}}' "$id" | tr -d /)
  say "restarting api replica $name (SIGTERM: open streams end, the client resumes through the proxy)"
  $DOCKER restart -t 20 "$id" >/dev/null
  wait_container_healthy "$id"
  say "api replica $name is healthy again"
done
wait "$client_pid" || { client_status=$?; client_pid=; fail "the stream client failed (exit $client_status)" api worker proxy; }
client_pid=

# --- checks on what the client saw ----------------------------------------------------------
python3 - "$run/client.json" <<'EOF' || fail "the demo run's checks failed (above)" api worker proxy
import json, sys
report = json.load(open(sys.argv[1]))
seqs, finished = report["seqs"], report["finished"] or {}
problems = []
if finished.get("status") != "completed":
    problems.append(f"the run ended {finished.get('status')!r}, not 'completed': {finished}")
if seqs != list(range(1, len(seqs) + 1)):
    problems.append(f"durable seqs not exactly 1..n once and in order: {seqs}")
if report["reconnects"] < 1:
    problems.append("the stream never reconnected: no api restart cut it (the run ended too soon?)")
codes = [c["exit_code"] for c in report["code_results"]]
if not codes or any(code != 0 for code in codes):
    problems.append(f"the demo's code did not run in the worker's sandbox: code_results {report['code_results']}")
ws = report["websocket"] or {}
if " 101 " not in ws.get("handshake", "") + " " or ws.get("seqs") != seqs or not ws.get("finished"):
    problems.append(f"WebSocket replay through the proxy: {ws}")
for line in problems:
    print("!!  " + line, file=sys.stderr)
ends = ", ".join(f"after seq {c['resume_after']}: {c['events']} events, {c['ended']}" for c in report["connections"])
print(f"   run {report['run_id']}: {finished.get('status')}, {len(seqs)} durable events (seq 1..{len(seqs)}, each once, in order), "
      f"{report['deltas']} deltas, {report['reconnects']} reconnect(s); connections: {ends}")
print(f"   code results: exit codes {codes} (executed by bubblewrap in a worker container); "
      f"WebSocket replay through the proxy: {ws.get('handshake')}, {len(ws.get('seqs', []))} events")
sys.exit(1 if problems else 0)
EOF

# --- Prometheus ---------------------------------------------------------------------------------
prom=http://127.0.0.1:$PROMETHEUS_PORT
say "Prometheus at $prom: waiting for the api and worker targets to be up (scrape every 10 s)"
prom_check() {
  python3 - "$prom" "$1" <<'EOF'
import json, sys, urllib.request, urllib.parse
prom, final = sys.argv[1], sys.argv[2] == "final"
def get(path):
    with urllib.request.urlopen(prom + path, timeout=5) as r:
        return json.load(r)["data"]
targets = get("/api/v1/targets?state=active")["activeTargets"]
up = {}
for t in targets:
    up.setdefault(t["labels"]["job"], []).append((t["labels"]["instance"], t["health"], t.get("lastError", "")))
ok = all(len([h for _, h, _ in up.get(job, []) if h == "up"]) == 2 and len(up.get(job, [])) == 2
         for job in ("cadre-api", "cadre-worker"))
if not final:
    sys.exit(0 if ok else 1)
groups = get("/api/v1/rules")["groups"]
rules = [r for g in groups if g["name"] == "cadre" for r in g["rules"]]
bad = [r["name"] for r in rules if r.get("health") != "ok"]
def value(q):
    result = get("/api/v1/query?query=" + urllib.parse.quote(q))["result"]
    return float(result[0]["value"][1]) if result else None
finished = value("sum(cadre_runs_finished_total)")
by_status = get("/api/v1/query?query=" + urllib.parse.quote("sum by (status) (cadre_runs_finished_total)"))["result"]
by_status = {r["metric"].get("status", ""): float(r["value"][1]) for r in by_status}
claimed = value("sum(cadre_queue_wait_seconds_count)")
build_info = value("count(cadre_build_info)")
for job, items in sorted(up.items()):
    print(f"   target {job}: " + ", ".join(f"{i} {h}" + (f" ({e})" if e else "") for i, h, e in items))
print(f"   alert rules loaded: {len(rules)} in group cadre ({', '.join(r['name'] for r in rules)}); unhealthy: {bad or 'none'}")
print(f"   metrics: cadre_runs_finished_total {finished} by status {by_status}, "
      f"cadre_queue_wait_seconds_count {claimed}, cadre_build_info series {build_info}")
problems = []
if not ok: problems.append(f"targets not all up: {up}")
if len(rules) < 4 or bad: problems.append("alert rules not loaded or unhealthy")
if not finished or not claimed:
    problems.append("the demo run is not in the workers' metrics (claimed, finished)")
if build_info != 4: problems.append(f"expected cadre_build_info from 4 processes, got {build_info}")
for p in problems: print("!!  " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
}
for i in $(seq 1 60); do
  prom_check wait && break
  [ "$i" -lt 60 ] || break
  sleep 2
done
# The counters may need one more scrape after the run ended.
for i in $(seq 1 8); do
  prom_check final >"$run/prom.txt" 2>&1 && break
  [ "$i" -lt 8 ] || { cat "$run/prom.txt" >&2; fail "Prometheus checks failed" prometheus api worker; }
  sleep 3
done
cat "$run/prom.txt"

reconnects=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["reconnects"])' "$run/client.json")
say "summary:"
echo "   - images: deploy/Dockerfile --target api-prebuilt / worker-prebuilt on $base_image, binary $binary"
echo "   - stack: $count healthy containers (nginx, api x2, worker x2, postgres, redis with AOF, prometheus)"
echo "   - a demo run completed through nginx while ${#order[@]} api replica(s) were restarted one after the other;"
echo "     its SSE stream reconnected $reconnects time(s) with Last-Event-ID and got every durable event once, in order;"
echo "     the WebSocket through nginx replayed it; its code ran in bubblewrap inside a worker container"
echo "   - cadre sandbox check passes in the worker image with seccomp=unconfined + systempaths=unconfined only"
echo "   - Prometheus: every api and worker target up, the alert rules loaded, the run in the metrics"
echo "   - not in this test: Grafana, Loki, promtail (no Debian packages to stand in for them)"

#!/usr/bin/env bash
# `make deploy-check`: validates everything under deploy/ and .github/workflows offline,
# in well under a minute once the tools are installed (scripts/ensure-deploy-tools.sh):
#
#   compose      docker-compose 1.29 `config -q` of deploy/docker-compose.yml, alone and
#                with the smoke override; `docker compose config -q` too where the v2
#                plugin exists; the Compose Specification schema (check-jsonschema)
#   prometheus   promtool check config (with the rule file), check rules, test rules
#                (deploy/prometheus/alerts.test.yml: every alert fires on its sample)
#   metrics      the dashboard's and the alerts' expressions use only contract metrics
#                (deploy/check_metrics.py) and every dashboard expression parses (promtool)
#   kubernetes   kubernetes-validate --strict against Kubernetes 1.31.0 (the oldest we
#                support: appArmorProfile, sleep preStop) and 1.37.0; the kustomization's
#                resources exist
#   workflow     check-jsonschema --builtin-schema vendor.github-workflows
#   yaml, shell  yamllint (relaxed); bash -n / sh -n of the scripts; shellcheck if present
#   Dockerfile   the prebuilt targets come before the source-build stages (what makes the
#                legacy builder skip node and cargo for them)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bin=$(scripts/ensure-deploy-tools.sh | tail -1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
step() { echo "==> deploy-check: $*"; }
run() { # description, command...
  local what=$1
  shift
  if out=$("$@" 2>&1); then
    echo "    ok    $what${out:+: $(echo "$out" | grep -v '^\s*$' | tail -1)}"
  else
    echo "    FAIL  $what" >&2
    echo "$out" | sed 's/^/          /' >&2
    failed=1
  fi
}

step "shell scripts"
for f in deploy/smoke.sh scripts/check-deploy.sh scripts/ensure-deploy-tools.sh; do run "bash -n $f" bash -n "$f"; done
for f in deploy/docker/entrypoint.sh deploy/secrets/generate.sh deploy/smoke/postgres-standin.sh; do run "sh -n $f" sh -n "$f"; done
if command -v shellcheck >/dev/null 2>&1; then
  run "shellcheck" shellcheck -S warning deploy/smoke.sh scripts/check-deploy.sh scripts/ensure-deploy-tools.sh \
    deploy/docker/entrypoint.sh deploy/secrets/generate.sh deploy/smoke/postgres-standin.sh
fi
run "python3 syntax (smoke client, metric check, dashboard generator)" python3 -c '
import ast, sys
for f in sys.argv[1:]: ast.parse(open(f).read(), f)
' deploy/smoke/stream_client.py deploy/check_metrics.py deploy/grafana/dashboard.py

step "compose"
# The smoke override's variables, so that its file validates here too.
export SMOKE_BASE_IMAGE=cadre-smoke/base:check SMOKE_SECRETS=$tmp/secrets
run "docker-compose $(docker-compose version --short) config -q deploy/docker-compose.yml" \
  docker-compose -f deploy/docker-compose.yml config -q
run "docker-compose config -q with deploy/smoke/docker-compose.local.yml" \
  docker-compose -f deploy/docker-compose.yml -f deploy/smoke/docker-compose.local.yml config -q
if docker compose version >/dev/null 2>&1; then
  run "docker compose (v2) config -q" docker compose -f deploy/docker-compose.yml config -q
else
  # Compose v2 is a Go plugin from GitHub releases: not in Debian bookworm, and not
  # reachable from machines that only see the package registries. The file is still
  # validated by docker-compose 1.29 above and the Compose Specification schema below;
  # this runs wherever the plugin exists (GitHub's runners have it).
  echo "    skip  docker compose (v2) config: the Compose v2 plugin is not installed (not packaged for Debian bookworm); validated above by docker-compose 1.29 and below by the Compose Specification schema"
fi
run "Compose Specification schema" "$bin/check-jsonschema" --builtin-schema vendor.compose-spec \
  deploy/docker-compose.yml deploy/smoke/docker-compose.local.yml

step "prometheus"
# promtool check config also opens the rule files and credentials files it names.
cp deploy/prometheus/prometheus.yml deploy/prometheus/alerts.yml "$tmp/"
echo placeholder >"$tmp/metrics_token"
sed -i "s#/run/secrets/metrics_token#$tmp/metrics_token#" "$tmp/prometheus.yml"
run "promtool check config deploy/prometheus/prometheus.yml" promtool check config "$tmp/prometheus.yml"
run "promtool check rules deploy/prometheus/alerts.yml" promtool check rules deploy/prometheus/alerts.yml
run "promtool test rules deploy/prometheus/alerts.test.yml" promtool test rules deploy/prometheus/alerts.test.yml

step "metrics of the dashboard and the alerts"
run "contract metrics only" "$bin/python" deploy/check_metrics.py deploy/grafana/dashboards/cadre.json \
  deploy/prometheus/alerts.yml "$tmp/dashboard-rules.yml"
[ -s "$tmp/dashboard-rules.yml" ] && run "every dashboard expression parses (promtool)" promtool check rules "$tmp/dashboard-rules.yml"
run "provisioning and log configs are YAML" "$bin/python" -c '
import sys, yaml
for f in sys.argv[1:]: yaml.safe_load(open(f))
' deploy/grafana/provisioning/datasources/datasources.yml deploy/grafana/provisioning/dashboards/dashboards.yml \
  deploy/loki/loki.yml deploy/promtail/promtail.yml

step "kubernetes"
manifests=(deploy/k8s/[0-9]*.yaml)
for version in 1.31.0 1.37.0; do
  run "kubernetes-validate --strict -k $version (${#manifests[@]} files)" \
    "$bin/kubernetes-validate" --strict --quiet -k "$version" "${manifests[@]}"
done
run "kustomization resources exist" "$bin/python" -c '
import os, sys, yaml
k = yaml.safe_load(open("deploy/k8s/kustomization.yaml"))
missing = [r for r in k["resources"] if not os.path.exists(os.path.join("deploy/k8s", r))]
sys.exit(f"missing: {missing}" if missing else 0)
'

step "GitHub workflow"
run "check-jsonschema vendor.github-workflows" "$bin/check-jsonschema" --builtin-schema vendor.github-workflows \
  .github/workflows/*.yml

step "yamllint"
run "yamllint deploy .github" "$bin/yamllint" -s -d '{extends: relaxed, rules: {line-length: disable, truthy: disable}}' \
  deploy/docker-compose.yml deploy/smoke/docker-compose.local.yml deploy/prometheus deploy/grafana/provisioning \
  deploy/loki deploy/promtail deploy/k8s .github/workflows

step "Dockerfile"
run "prebuilt targets before the source-build stages" "$bin/python" -c '
import re, sys
stages = re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", open("deploy/Dockerfile").read())
need = ["runtime", "worker-runtime", "api-prebuilt", "worker-prebuilt", "web", "build", "worker", "api"]
if stages != need: sys.exit(f"stages {stages}, expected {need}")
'

if [ "$failed" -ne 0 ]; then
  echo "!! deploy-check failed (above)" >&2
  exit 1
fi
echo "==> deploy-check: all passed"

"""Writes dashboards/cadre.json, the Cadre Grafana dashboard (provisioned by the compose
stack). Edit this file, run it (python3 deploy/grafana/dashboard.py), commit both. Use only
the metrics of the contract in deploy/README.md ("Metrics"): scripts/check-deploy.sh and a
Rust test check every expression.
"""
import json
import os
panels = []
pid = [0]
def panel(title, targets, unit="short", x=0, y=0, w=12, h=8, kind="timeseries", desc="", stack=False):
    pid[0] += 1
    p = {
        "id": pid[0], "type": kind, "title": title, "description": desc,
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [
            {"refId": chr(65 + i), "datasource": {"type": "prometheus", "uid": "prometheus"},
             "expr": e, "legendFormat": l} for i, (e, l) in enumerate(targets)
        ],
    }
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "area", "textMode": "auto"}
    if stack:
        p["fieldConfig"]["defaults"]["custom"] = {"stacking": {"mode": "normal"}, "fillOpacity": 30}
    panels.append(p)
def row(title, y):
    pid[0] += 1
    panels.append({"id": pid[0], "type": "row", "title": title, "collapsed": False,
                   "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})

y = 0
row("Overview", y); y += 1
panel("API replicas up", [('sum(up{job="cadre-api"})', "api")], kind="stat", x=0, y=y, w=4, h=4)
panel("Workers up", [('sum(up{job="cadre-worker"})', "workers")], kind="stat", x=4, y=y, w=4, h=4)
panel("Runs executing", [("sum(cadre_runs_active)", "active")], kind="stat", x=8, y=y, w=4, h=4)
panel("Queue depth", [("max(cadre_queue_depth)", "waiting")], kind="stat", x=12, y=y, w=4, h=4)
panel("Open streams", [("sum(cadre_streams_open)", "streams")], kind="stat", x=16, y=y, w=4, h=4)
panel("Versions", [("count by (version, role) (cadre_build_info)", "{{role}} {{version}}")], kind="stat", x=20, y=y, w=4, h=4)
y += 4
row("HTTP API", y); y += 1
panel("Requests by route", [("sum by (http_route, http_request_method) (rate(http_server_request_duration_seconds_count[$__rate_interval]))", "{{http_request_method}} {{http_route}}")], unit="reqps", x=0, y=y)
panel("Latency p95 by route", [("histogram_quantile(0.95, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket[$__rate_interval])))", "{{http_route}}")], unit="s", x=12, y=y)
y += 8
panel("Responses by status", [("sum by (http_response_status_code) (rate(http_server_request_duration_seconds_count[$__rate_interval]))", "{{http_response_status_code}}")], unit="reqps", x=0, y=y, stack=True)
panel("Error share (5xx)", [('sum(rate(http_server_request_duration_seconds_count{http_response_status_code=~"5.."}[$__rate_interval])) / sum(rate(http_server_request_duration_seconds_count[$__rate_interval]))', "5xx share")], unit="percentunit", x=12, y=y)
y += 8
row("Runs and queue", y); y += 1
panel("Runs created", [("sum(rate(cadre_runs_created_total[$__rate_interval])) * 60", "created / min")], unit="short", x=0, y=y, w=8)
panel("Runs finished by status", [("sum by (status, failure_code) (rate(cadre_runs_finished_total[$__rate_interval])) * 60", "{{status}} {{failure_code}}")], unit="short", x=8, y=y, w=8, stack=True, desc="Per minute; failure_code says why a run failed.")
panel("Active runs per worker", [("cadre_runs_active", "{{instance}}")], x=16, y=y, w=8)
y += 8
panel("Queue depth and oldest job", [("max(cadre_queue_depth)", "jobs waiting"), ("max(cadre_queue_oldest_age_seconds)", "oldest job age (s)")], x=0, y=y, w=8)
panel("Queue wait (created -> claimed)", [("histogram_quantile(0.5, sum by (le) (rate(cadre_queue_wait_seconds_bucket[$__rate_interval])))", "p50"), ("histogram_quantile(0.95, sum by (le) (rate(cadre_queue_wait_seconds_bucket[$__rate_interval])))", "p95")], unit="s", x=8, y=y, w=8)
panel("Job attempts, reclaimed leases, abandoned jobs", [("sum(rate(cadre_job_attempts_total[$__rate_interval])) * 60", "attempts / min"), ("sum(rate(cadre_job_leases_reclaimed_total[$__rate_interval])) * 60", "leases reclaimed / min"), ("sum(rate(cadre_jobs_abandoned_total[$__rate_interval])) * 60", "abandoned / min")], x=16, y=y, w=8)
y += 8
row("LLM", y); y += 1
panel("LLM call latency p95 by model", [("histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_bucket[$__rate_interval])))", "{{gen_ai_request_model}}")], unit="s", x=0, y=y, w=8)
panel("Time to first chunk p95 by model", [("histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_time_to_first_chunk_seconds_bucket[$__rate_interval])))", "{{gen_ai_request_model}}")], unit="s", x=8, y=y, w=8)
panel("LLM errors by type", [('sum by (gen_ai_provider_name, error_type) (rate(gen_ai_client_operation_duration_seconds_count{error_type!=""}[$__rate_interval]))', "{{gen_ai_provider_name}} {{error_type}}")], unit="reqps", x=16, y=y, w=8)
y += 8
panel("Tokens by model and type", [("sum by (gen_ai_request_model, gen_ai_token_type) (rate(gen_ai_client_token_usage_sum[$__rate_interval])) * 60", "{{gen_ai_request_model}} {{gen_ai_token_type}}")], unit="short", x=0, y=y, w=8, desc="Tokens per minute.")
panel("Cost by model (USD / hour)", [("sum by (gen_ai_provider_name, gen_ai_request_model) (rate(cadre_llm_cost_usd_total[$__rate_interval])) * 3600", "{{gen_ai_provider_name}} {{gen_ai_request_model}}")], unit="currencyUSD", x=8, y=y, w=8)
panel("LLM calls by model", [("sum by (gen_ai_request_model, gen_ai_operation_name) (rate(gen_ai_client_operation_duration_seconds_count[$__rate_interval]))", "{{gen_ai_request_model}} {{gen_ai_operation_name}}")], unit="reqps", x=16, y=y, w=8)
y += 8
row("Sandbox", y); y += 1
panel("Code executions by outcome", [("sum by (backend, outcome) (rate(cadre_sandbox_execution_duration_seconds_count[$__rate_interval])) * 60", "{{backend}} {{outcome}}")], x=0, y=y, stack=True, desc="Per minute.")
panel("Execution time p50 / p95", [("histogram_quantile(0.5, sum by (le, backend) (rate(cadre_sandbox_execution_duration_seconds_bucket[$__rate_interval])))", "p50 {{backend}}"), ("histogram_quantile(0.95, sum by (le, backend) (rate(cadre_sandbox_execution_duration_seconds_bucket[$__rate_interval])))", "p95 {{backend}}")], unit="s", x=12, y=y)
y += 8
row("Streams and event bus", y); y += 1
panel("Open streams by transport", [("sum by (transport) (cadre_streams_open)", "{{transport}}")], x=0, y=y, w=8)
panel("Event delivery lag p95 (stored -> sent)", [("histogram_quantile(0.95, sum by (le) (rate(cadre_event_delivery_lag_seconds_bucket[$__rate_interval])))", "p95"), ("histogram_quantile(0.5, sum by (le) (rate(cadre_event_delivery_lag_seconds_bucket[$__rate_interval])))", "p50")], unit="s", x=8, y=y, w=8)
panel("Bus lag and reconnects", [("sum by (backend) (rate(cadre_bus_lagged_total[$__rate_interval])) * 60", "lagged / min {{backend}}"), ("sum by (backend) (increase(cadre_bus_reconnects_total[$__rate_interval]))", "reconnects {{backend}}")], x=16, y=y, w=8)
y += 8
row("Database pool and processes", y); y += 1
panel("DB pool connections", [("sum by (instance, state) (cadre_db_pool_connections)", "{{instance}} {{state}}"), ("cadre_db_pool_max_connections", "{{instance}} max")], x=0, y=y, w=8)
panel("CPU by process", [("rate(process_cpu_seconds_total{job=~\"cadre-.*\"}[$__rate_interval])", "{{job}} {{instance}}")], unit="percentunit", x=8, y=y, w=8)
panel("Resident memory by process", [("process_resident_memory_bytes{job=~\"cadre-.*\"}", "{{job}} {{instance}}")], unit="bytes", x=16, y=y, w=8)
y += 8
panel("Open file descriptors", [("process_open_fds{job=~\"cadre-.*\"}", "{{instance}} open"), ("process_max_fds{job=~\"cadre-.*\"}", "{{instance}} max")], x=0, y=y, w=8)
panel("Threads", [("process_threads{job=~\"cadre-.*\"}", "{{job}} {{instance}}")], x=8, y=y, w=8)
panel("Started", [("process_start_time_seconds{job=~\"cadre-.*\"} * 1000", "{{job}} {{instance}}")], unit="dateTimeFromNow", x=16, y=y, w=8, kind="stat")
y += 8
panel("Virtual memory by process", [("process_virtual_memory_bytes{job=~\"cadre-.*\"}", "{{job}} {{instance}}")], unit="bytes", x=0, y=y, w=12)

dash = {
    "uid": "cadre", "title": "Cadre", "tags": ["cadre"], "timezone": "browser",
    "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1,
    "refresh": "30s", "time": {"from": "now-1h", "to": "now"},
    "description": "Cadre api replicas and workers (deploy/README.md). Every metric is on the binaries' /metrics.",
    "templating": {"list": []}, "annotations": {"list": []},
    "links": [], "panels": panels,
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards", "cadre.json")
with open(out, "w", encoding="utf-8") as f:
    json.dump(dash, f, indent=2)
    f.write("\n")
print(f"wrote {out}: {len(panels)} panels")

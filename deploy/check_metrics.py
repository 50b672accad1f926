#!/usr/bin/env python3
"""Checks that the Grafana dashboard and the Prometheus alert rules use only the metrics
Cadre's binaries export (the contract in deploy/README.md, "Metrics"), and writes every
dashboard expression into a rule file so that promtool can check its PromQL syntax.

    check_metrics.py DASHBOARD ALERTS OUT_RULES      (scripts/check-deploy.sh runs it)

Exit 1, naming the expression, on a metric outside the contract or a dashboard panel
without an expression. Needs PyYAML (the deploy tools' virtualenv has it).
"""

import json
import re
import sys

import yaml

# name -> kind; histograms also expose _bucket, _sum and _count.
CONTRACT = {
    "http_server_request_duration_seconds": "histogram",
    "cadre_runs_created_total": "counter",
    "cadre_runs_finished_total": "counter",
    "cadre_runs_active": "gauge",
    "cadre_queue_depth": "gauge",
    "cadre_queue_oldest_age_seconds": "gauge",
    "cadre_queue_wait_seconds": "histogram",
    "cadre_job_attempts_total": "counter",
    "cadre_job_leases_reclaimed_total": "counter",
    "cadre_jobs_abandoned_total": "counter",
    "gen_ai_client_operation_duration_seconds": "histogram",
    "gen_ai_client_operation_time_to_first_chunk_seconds": "histogram",
    "gen_ai_client_token_usage": "histogram",
    "cadre_llm_cost_usd_total": "counter",
    "cadre_sandbox_execution_duration_seconds": "histogram",
    "cadre_tool_call_duration_seconds": "histogram",
    "cadre_streams_open": "gauge",
    "cadre_bus_lagged_total": "counter",
    "cadre_bus_reconnects_total": "counter",
    "cadre_event_delivery_lag_seconds": "histogram",
    "cadre_db_pool_connections": "gauge",
    "cadre_db_pool_max_connections": "gauge",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
    "process_threads": "gauge",
    "cadre_build_info": "gauge",
    "up": "gauge",  # Prometheus's own, per scrape target
}

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "inf", "nan", "le",
}


def allowed_names():
    names = set()
    for name, kind in CONTRACT.items():
        names.add(name)
        if kind == "histogram":
            names.update({name + "_bucket", name + "_sum", name + "_count"})
    return names


def metric_names(expr):
    """The metric names an expression selects (identifiers that are not functions,
    keywords, label names or inside strings, braces or ranges)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "{}", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "[]", text)  # ranges ($__rate_interval too)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        rest = text[match.end():].lstrip()
        if rest.startswith("("):  # a function call
            continue
        if word.lower() in KEYWORDS:
            continue
        before = text[: match.start()]
        if re.search(r"[0-9.]$", before):  # e.g. the "e" in 1e3
            continue
        names.add(word)
    return names


def dashboard_exprs(node, path="panels"):
    if isinstance(node, dict):
        if node.get("type") not in (None, "row") and "targets" in node:
            if not any(t.get("expr") for t in node["targets"]):
                yield path + f" ({node.get('title')})", None
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield path, value
            else:
                yield from dashboard_exprs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from dashboard_exprs(value, f"{path}[{i}]")


def main():
    dashboard_path, alerts_path, out_rules = sys.argv[1:4]
    allowed = allowed_names()
    problems = []
    with open(dashboard_path, encoding="utf-8") as f:
        dashboard = json.load(f)
    exprs = list(dashboard_exprs(dashboard))
    with open(alerts_path, encoding="utf-8") as f:
        alerts = yaml.safe_load(f)
    alert_exprs = [
        (f"alert {rule.get('alert') or rule.get('record')}", rule["expr"])
        for group in alerts["groups"]
        for rule in group["rules"]
    ]
    used = set()
    for where, expr in exprs + alert_exprs:
        if expr is None:
            problems.append(f"{where}: a panel without an expression")
            continue
        names = metric_names(expr)
        used |= names
        for name in sorted(names - allowed):
            problems.append(f"{where}: `{name}` is not a Cadre metric (expr: {expr})")
    # Every dashboard expression as a recording rule, for `promtool check rules`.
    rules = [
        {"record": f"dashboard:expr_{i}", "expr": expr.replace("$__rate_interval", "5m")}
        for i, (_, expr) in enumerate(exprs)
        if expr
    ]
    with open(out_rules, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
    for line in problems:
        print("!! " + line, file=sys.stderr)
    if problems:
        return 1
    unused = sorted(set(CONTRACT) - {n.rsplit("_bucket", 1)[0] for n in used}
                    - {re.sub(r"_(bucket|sum|count)$", "", n) for n in used})
    print(
        f"metrics: {len([e for _, e in exprs if e])} dashboard expressions and "
        f"{len(alert_exprs)} alert rules use {len(used)} names, all in the contract"
        + (f" (contract metrics not shown: {', '.join(unused)})" if unused else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks the monitoring config with promtool (Debian's `prometheus` package), without a server.

1. `promtool check config deploy/prometheus/prometheus.yml` (and with it the rule files it names).
2. `promtool check rules deploy/prometheus/alerts.yml`.
3. `promtool test rules deploy/prometheus/alerts_test.yml`: the alerts fire (and stay quiet) on
   the series the services export.
4. Every expression of the Grafana dashboard parses: they are checked as recording rules.
5. The dashboard's panels use the provisioned data source.
(That every metric they name is one the services export is MonitoringMetricsTests, a Swift test
that scrapes the four services.) Prints one line per check and a closing 'N passed, N failed'
line; exits 1 on any failure.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMETHEUS = os.path.join(ROOT, "deploy", "prometheus")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "dashboards", "escrowmarket.json")
DATASOURCES = os.path.join(ROOT, "deploy", "grafana", "provisioning", "datasources", "prometheus.yml")

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")


def promtool(*args):
    run = subprocess.run(["promtool", *args], cwd=ROOT, capture_output=True, text=True)
    return run.returncode == 0, (run.stdout + run.stderr).strip().replace("\n", " | ")


def expressions(value):
    if isinstance(value, dict):
        if isinstance(value.get("expr"), str):
            yield value["expr"]
        for child in value.values():
            yield from expressions(child)
    elif isinstance(value, list):
        for child in value:
            yield from expressions(child)


def datasource_uids(value):
    if isinstance(value, dict):
        if isinstance(value.get("datasource"), dict):
            yield value["datasource"].get("uid")
        for child in value.values():
            yield from datasource_uids(child)
    elif isinstance(value, list):
        for child in value:
            yield from datasource_uids(child)


def main():
    if shutil.which("promtool") is None:
        check("promtool installed (Debian package prometheus; scripts/dev deps)", False, "not found")
    else:
        check("promtool check config deploy/prometheus/prometheus.yml",
              *promtool("check", "config", os.path.join(PROMETHEUS, "prometheus.yml")))
        check("promtool check rules deploy/prometheus/alerts.yml",
              *promtool("check", "rules", os.path.join(PROMETHEUS, "alerts.yml")))
        check("promtool test rules deploy/prometheus/alerts_test.yml",
              *promtool("test", "rules", os.path.join(PROMETHEUS, "alerts_test.yml")))

    with open(DASHBOARD, encoding="utf-8") as handle:
        dashboard = json.load(handle)
    exprs = list(expressions(dashboard))
    check("the dashboard has panels with expressions", len(exprs) >= 20, f"{len(exprs)} expressions")
    if shutil.which("promtool") is not None and exprs:
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:expression_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
            yaml.safe_dump(rules, handle)
        try:
            check("every dashboard expression parses (promtool check rules)", *promtool("check", "rules", handle.name))
        finally:
            os.unlink(handle.name)

    with open(DATASOURCES, encoding="utf-8") as handle:
        provisioned = {d.get("uid") for d in yaml.safe_load(handle).get("datasources", [])}
    uids = set(datasource_uids(dashboard))
    check("the dashboard uses only the provisioned data source", uids and uids <= provisioned,
          f"dashboard {sorted(map(str, uids))}, provisioned {sorted(map(str, provisioned))}")

    passed = sum(results)
    failed = len(results) - passed
    print(f"monitoring: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""What operators watch: the alert rules (with promtool's unit tests), the Grafana
dashboard, and the Elasticsearch index template and lifecycle for the ECS logs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from compose.local import composefile
from tests.photosite.test_requestlog import json_lines

PRODUCTION = composefile.PRODUCTION
PROMETHEUS = PRODUCTION / "prometheus"
GRAFANA = PRODUCTION / "grafana"
ELASTICSEARCH = PRODUCTION / "elasticsearch"
# On a dashboard or in a rule but not exported yet: the test fails on any other unknown name.
NOT_YET_EXPORTED: dict[str, str] = {}


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: make test installs Debian's prometheus package"
    return found


def test_prometheus_config_loads_the_alert_rules(tmp_path: Path) -> None:
    """The compose config as Prometheus reads it, with its mounts laid out in a directory."""
    config = (PROMETHEUS / "prometheus.yml").read_text().replace("/etc/prometheus/", f"{tmp_path}/")
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "metrics_token").write_text("token")
    result = subprocess.run(
        [promtool(), "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 18 rules found" in result.stdout + result.stderr
    mounts = composefile.raw()["services"]["prometheus"]["volumes"]
    assert "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts


def test_alert_rules_pass_their_unit_tests() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", "alerts.test.yml"], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def _alert_names() -> set[str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return {rule["alert"] for group in rules["groups"] for rule in group["rules"]}


def test_every_alert_has_a_unit_test_that_fires_it_and_the_issue_list_is_covered() -> None:
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())
    fired = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert _alert_names() == fired, f"alerts without a firing test: {sorted(_alert_names() - fired)}"
    expressions = (PROMETHEUS / "alerts.yml").read_text()
    for watched in (
        'status=~"5.."',  # 5xx rate
        "histogram_quantile(0.95",  # p95 latency
        "photosite_replica_lag_seconds",
        "photosite_replica_healthy",
        'state="waiting"',  # queue depth
        "photosite_queue_oldest_message_age_seconds",  # oldest job age
        "photosite_renditions_failed_24h",
        "node_filesystem_avail_bytes",  # disk
        "redis_memory_used_bytes",
        'up{job="node"}',  # host health
    ):
        assert watched in expressions, watched


def _exported_metric_names(client) -> set[str]:
    """Every metric name /metrics really serves, after requests that touch the database and
    the cache (django-prometheus shows a labelled series only once it has counted one)."""
    for path in ("/", "/explore/", "/healthz", "/no-such-page/"):
        client.get(path)
    response = client.get("/metrics")
    assert response.status_code == 200
    names: set[str] = set()
    for line in response.content.decode().splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def _metric_names_in(expression: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expression)
    without_strings = re.sub(r'"[^"]*"', "", without_labels)
    words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", without_strings))
    return {word for word in words if word.startswith(("photosite_", "django_", "node_", "redis_")) or word == "up"}


@pytest.mark.django_db
def test_dashboard_is_provisioned_and_charts_only_metrics_that_exist(client) -> None:
    dashboard = json.loads((GRAFANA / "dashboards" / "photosite.json").read_text())
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = datasource["datasources"]
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "photosite.yml").read_text())
    grafana = composefile.raw()["services"]["grafana"]
    assert f"./grafana/dashboards:{provider['providers'][0]['options']['path']}:ro" in grafana["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]

    exported = _exported_metric_names(client)
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    for panel in panels:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        for target in panel["targets"]:
            for name in _metric_names_in(target["expr"]):
                if name.startswith(("photosite_", "django_")) and name not in NOT_YET_EXPORTED:
                    assert name in exported, f"{panel['title']}: {name} is not exported"
    # The alert rules, too: a rule on a name nothing exports never fires.
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    for rule in (rule for group in rules["groups"] for rule in group["rules"]):
        for name in _metric_names_in(rule["expr"]):
            if name.startswith(("photosite_", "django_")) and name not in NOT_YET_EXPORTED:
                assert name in exported, f"{rule['alert']}: {name} is not exported"
    titles = " / ".join(panel["title"].lower() for panel in panels)
    for subject in ("requests", "response time", "errors", "queue", "replica", "cache hit", "uploads", "cpu",
                    "memory", "disk"):  # fmt: skip
        assert subject in titles, subject


def _real_log_lines(var_dir: Path) -> list[dict[str, Any]]:
    """Lines the site writes under LOG_FORMAT=json: an access line for a signed-in user,
    an error with its traceback, and a job's line carrying the request id."""
    script = """
import logging, os, types
import django
django.setup()
from django.test import Client
from photosite import requestlog
Client(HTTP_HOST="localhost").get("/healthz")
try:
    raise ValueError("boom")
except ValueError:
    logging.getLogger("photosite.worker").exception("a job failed")
job = requestlog.RequestIdInJobs()
message = types.SimpleNamespace(actor_name="make_renditions", message_id="m-1", options={"request_id": "r-1"})
job.before_process_message(None, message)
logging.getLogger("photosite.worker").warning("rendering")
job.after_process_message(None, message)
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=composefile.ROOT,
        # Embedded mode, with a var directory of its own: not the checkout's, which `make run`
        # and another test run may be using.
        env={
            **_embedded_env(),
            "LOG_FORMAT": "json",
            "DJANGO_SETTINGS_MODULE": "photosite.settings",
            "PHOTOSITE_VAR_DIR": str(var_dir),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # Every line, not just those that look like JSON: Filebeat ships each line as a record.
    return [
        *(json_lines(result.stdout, source="stdout") if result.stdout else []),
        *json_lines(result.stderr, source="stderr"),
    ]


def _embedded_env() -> dict[str, str]:
    import os

    from tests.services_plugin import SERVICE_VARIABLES

    return {name: value for name, value in os.environ.items() if name not in SERVICE_VARIABLES}


def _flatten(document: dict[str, Any], prefix: str = "") -> set[str]:
    fields: set[str] = set()
    for key, value in document.items():
        path = f"{prefix}{key}"
        fields |= _flatten(value, f"{path}.") if isinstance(value, dict) else {path}
    return fields


def _mapped(properties: dict[str, Any], prefix: str = "") -> set[str]:
    fields: set[str] = set()
    for key, value in properties.items():
        path = f"{prefix}{key}"
        fields |= _mapped(value["properties"], f"{path}.") if "properties" in value else {path}
    return fields


def test_log_index_template_maps_every_field_the_site_logs(tmp_path: Path) -> None:
    template = json.loads((ELASTICSEARCH / "index-template.json").read_text())
    mapped = _mapped(template["template"]["mappings"]["properties"])
    lines = _real_log_lines(tmp_path / "var")
    assert any("labels" in line and line["http"]["request"]["id"] == "r-1" for line in lines), lines
    assert any("error" in line and "stack_trace" in line["error"] for line in lines), lines
    logged = set().union(*(_flatten(line) for line in lines))
    assert {"@timestamp", "log.level", "message", "http.request.id", "labels.job", "error.stack_trace"} <= logged
    assert logged <= mapped, f"logged but not mapped: {sorted(logged - mapped)}"


def test_logs_flow_into_the_data_stream_the_template_and_lifecycle_describe() -> None:
    template = json.loads((ELASTICSEARCH / "index-template.json").read_text())
    policy = json.loads((ELASTICSEARCH / "ilm-policy.json").read_text())
    view = json.loads((ELASTICSEARCH / "data-view.json").read_text())
    filebeat = yaml.safe_load((PRODUCTION / "filebeat" / "filebeat.yml").read_text())
    setup = (ELASTICSEARCH / "setup.sh").read_text()

    index = filebeat["output.elasticsearch"]["index"]
    assert "data_stream" in template and any(
        re.fullmatch(p.replace("*", ".*"), index) for p in template["index_patterns"]
    )
    assert filebeat["setup.template.enabled"] is False and filebeat["setup.ilm.enabled"] is False
    lifecycle = template["template"]["settings"]["index.lifecycle.name"]
    assert f"_ilm/policy/{lifecycle}" in setup and "_index_template/" in setup and "data_views" in setup
    assert set(policy["policy"]["phases"]) >= {"hot", "delete"}
    assert re.fullmatch(view["data_view"]["title"].replace("*", ".*"), index)
    assert view["data_view"]["timeFieldName"] == "@timestamp"
    services = composefile.raw()["services"]
    assert services["filebeat"]["depends_on"]["logs-setup"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("exporter", ["node-exporter", "redis-exporter"])
def test_host_and_redis_exporters_run_and_are_scraped(exporter: str) -> None:
    services = composefile.raw()["services"]
    assert exporter in services
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for c in job.get("static_configs", []) for t in c["targets"]}
    assert any(target.startswith(f"{exporter}:") for target in targets)

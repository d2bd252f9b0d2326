"""compose/ cannot run here (no Docker engine), so check what can be checked: the YAML,
a health check on every service, nginx -t on the edge config, the scripts' syntax."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCTION = ROOT / "compose" / "production"


def test_every_compose_service_has_a_health_check_and_its_files_exist() -> None:
    compose = yaml.safe_load((PRODUCTION / "docker-compose.yml").read_text())
    services = compose["services"]
    expected = {"primary", "replica", "redis", "seaweedfs", "nginx", "web1", "web2", "worker1", "worker2"}
    assert expected | {"elasticsearch", "kibana", "filebeat", "prometheus"} <= set(services)
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (PRODUCTION / source).exists() or source.endswith("metrics_token"), f"{name}: {source}"
    assert services["web1"]["environment"]["MIGRATE_ON_START"] == "1"
    assert "MIGRATE_ON_START" not in services["web2"].get("environment", {})


def test_dockerfile_is_multi_stage_non_root_and_collects_static() -> None:
    dockerfile = (PRODUCTION / "django" / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2 and "USER photosite" in dockerfile
    assert "collectstatic" in dockerfile and "HEALTHCHECK" in dockerfile


def test_start_scripts_parse() -> None:
    for script in ("entrypoint", "start-web", "start-worker"):
        subprocess.run(["bash", "-n", str(PRODUCTION / "django" / script)], check=True)
    for script in ("primary-init.sh", "replica-entrypoint.sh"):
        subprocess.run(["bash", "-n", str(PRODUCTION / "postgres" / script)], check=True)


def test_nginx_accepts_the_edge_config(tmp_path: Path) -> None:
    """The same file both ways: compose's service names swapped for loopback, as make stack does."""
    from compose.local import stack

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is missing: make test installs Debian's nginx-light"
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx" / "cache").mkdir(parents=True)
    conf = tmp_path / "nginx" / "nginx.conf"
    conf.write_text(
        stack.render_nginx(
            listen="127.0.0.1:1", web=["127.0.0.1:2", "127.0.0.1:3"], media="127.0.0.1:4", state=tmp_path
        )
    )
    result = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(tmp_path / "nginx")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_entrypoint_waits_for_the_database_then_runs_the_command() -> None:
    """Run by hand, as the container would: with a reachable DATABASE_URL it execs its arguments."""
    import os

    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    }
    result = subprocess.run(
        [str(PRODUCTION / "django" / "entrypoint"), "echo", "started"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and result.stdout.strip() == "started", result.stderr

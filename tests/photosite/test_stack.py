"""`make stack` brings up compose/production/docker-compose.yml from what it says (services,
commands, environment, health checks, depends_on), each service a local process; every
health check passes as compose runs it; an upload goes through nginx the way a browser's
does, to addresses a client outside the servers can reach; `make stack-down` stops exactly
what it started."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from compose.local import composefile, native
from compose.local.services.net import free_port
from tests.browser import chromium, csp_violation  # noqa: F401  (fixture)
from tests.images import jpeg_bytes

ROOT = Path(__file__).resolve().parent.parent.parent
STACK = [sys.executable, str(ROOT / "compose" / "local" / "stack.py")]


def _alive(pid: int) -> bool:
    """Running, not a zombie left for an init that does not reap."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def stack():
    # Its own directory under /tmp: pytest's are private to root, and the clusters run as postgres.
    state = Path(tempfile.mkdtemp(prefix="photosite-stack-"))
    state.chmod(0o755)
    port = free_port()
    # The stack's own services: none of the test session's variables may leak in.
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("S3_", "DATABASE_", "REDIS_", "BROKER_"))
    }
    up = subprocess.run(
        [*STACK, "up", "--dir", str(state), "--port", str(port), "--no-seed"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield state, json.loads((state / "stack.json").read_text()), env
    finally:
        subprocess.run([*STACK, "down", "--dir", str(state)], cwd=ROOT, env=env, capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def _addresses_as_placeholders(argv: list[str]) -> list[str]:
    """A health check with every host:port (and redis-cli's inserted address) made generic."""
    words = [re.sub(r"(?<=//)[\w.-]+(?::\d+)?(?=/)", "ADDRESS", word) for word in argv]  # URLs, port 80 implied
    words = [re.sub(r"\b[\w.-]+:\d+\b", "ADDRESS", word) for word in words]
    if words[:1] == ["redis-cli"] and words[1:2] == ["-h"]:
        words = ["redis-cli", *words[5:]]
    return [re.sub(r"/proc/\d+/", "/proc/PID/", word) for word in words]


def test_stack_runs_what_compose_says_serves_an_upload_through_nginx_and_stops(stack, chromium) -> None:  # noqa: F811
    state, record, env = stack
    url = record["url"]
    certificate = record["certificate"]

    # Every compose service runs, or is skipped by design with its reason, or was a one-shot that finished.
    dotenv = composefile.dotenv_from_example()
    services = composefile.services(composefile.load(dotenv), dotenv, composefile.app_image(native.APP_DOCKERFILE))
    assert (
        set(record["skipped"])
        == set(native.SKIPPED_BY_DESIGN)
        == {
            "elasticsearch",
            "kibana",
            "logs-setup",
            "filebeat",
            "grafana",
        }
    )
    assert all(reason for reason in record["skipped"].values())
    one_shots = {name for name, service in services.items() if service.one_shot} - set(record["skipped"])
    assert set(record["completed"]) == one_shots
    assert set(record["pids"]) == set(services) - set(record["skipped"]) - one_shots
    status = subprocess.run([*STACK, "status", "--dir", str(state)], capture_output=True, text=True, env=env).stdout
    for name in record["pids"]:
        assert f"{name:20} up" in status, status

    # Every health check compose has, run as compose runs it: the same command, only
    # container addresses rewritten to where the service listens here.
    with_checks = {name for name, service in services.items() if service.healthcheck()} - set(record["skipped"])
    assert set(record["healthchecks"]) == with_checks
    for name in with_checks:
        compose_argv = composefile.healthcheck_argv(services[name].healthcheck() or {})
        here = record["healthchecks"][name]["argv"]
        if compose_argv[0] in native.IMAGE_BINARIES:
            compose_argv = [native.program(native.IMAGE_BINARIES[compose_argv[0]]), *compose_argv[1:]]
        assert _addresses_as_placeholders(here) == _addresses_as_placeholders(compose_argv), name
    health = subprocess.run([*STACK, "health", "--dir", str(state)], capture_output=True, text=True, env=env)
    assert health.returncode == 0, health.stdout + health.stderr
    ready = requests.get(url + "/readyz", timeout=10, verify=certificate).json()
    assert ready["checks"]["replica:replica_0"]["state"] == "up", ready

    # Plain HTTP is sent to HTTPS, as in production.
    plain = requests.get(f"http://127.0.0.1:{record['ports']['nginx:80']}/", timeout=10, allow_redirects=False)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")

    # A person uploads as a browser does: a grant, the file POSTed straight to the bucket's
    # address it names, then completed. Only the site's address is reachable from here.
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from apps.accounts.services import user_create as c; c(username='stacker', password='stack password 1')",
        ],
        cwd=ROOT,
        # As the stack's containers run it: none of the test session's settings (its fast hasher).
        env={**{k: v for k, v in env.items() if not k.startswith("TESTS_")}, **record["env"]},
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = requests.Session()
    site.trust_env = False  # else a CA bundle named in the environment would override `verify`
    site.verify = certificate
    answer = site.post(
        url + "/api/v1/auth/token/", json={"username": "stacker", "password": "stack password 1"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    site.headers["Authorization"] = f"Token {token}"
    photo_bytes = jpeg_bytes(800, 600)
    grant = site.post(url + "/api/v1/uploads/", json={"size": len(photo_bytes)}, timeout=10).json()
    assert grant["url"].startswith(url + "/"), grant["url"]  # not the S3 server's own address
    posted = requests.post(
        grant["url"], data=grant["fields"], files={"file": ("a.jpg", photo_bytes)}, timeout=30, verify=certificate
    )
    assert posted.status_code in (200, 201, 204), posted.text
    created = site.post(
        url + "/api/v1/uploads/complete/",
        json={"token": grant["token"], "title": "Through nginx", "visibility": "public"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    photo_id = created.json()["id"]
    deadline = time.monotonic() + 90
    while (photo := site.get(f"{url}/api/v1/photos/{photo_id}/", timeout=10).json())["status"] != "ready":
        assert time.monotonic() < deadline, photo
        time.sleep(0.5)
    rendition = next(r for r in photo["renditions"] if r["format"] == "jpg")
    assert rendition["url"].startswith(url + "/photosite/public/")  # the CDN URL is nginx
    first, second = (requests.get(rendition["url"], timeout=10, verify=certificate) for _ in range(2))
    assert first.status_code == 200 and first.content[:2] == b"\xff\xd8"
    assert second.headers["X-Cache-Status"] == "HIT"

    # A browser shows the photo page: every image loads from the site's address, and the
    # Content-Security-Policy lets all of it through.
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(text) if (text := csp_violation(message)) else None)
    page.goto(f"{url}/photos/{photo_id}/")
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
    sources = page.evaluate("[...document.images].filter(img => img.naturalWidth > 0).map(img => img.currentSrc)")
    context.close()
    assert sources and all(source.startswith(url + "/") for source in sources), sources
    assert violations == []

    # Made private, its renditions are signed URLs for the site's address, which S3 behind
    # nginx checks (the signature covers the host the browser sends).
    changed = site.patch(f"{url}/api/v1/photos/{photo_id}/", json={"visibility": "private"}, timeout=30)
    assert changed.status_code == 200, changed.text
    signed = next(r for r in changed.json()["renditions"] if r["format"] == "jpg")["url"]
    assert signed.startswith(url + "/photosite/private/") and "Signature=" in signed, signed
    fetched = requests.get(signed, timeout=10, verify=certificate)
    assert fetched.status_code == 200 and fetched.content == first.content
    assert requests.get(signed.split("?")[0], timeout=10, verify=certificate).status_code == 403

    # /ops/'s Hosts panel asks the Prometheus the web containers are given for the host's figures.
    prometheus = record["argv"]["web1"]["env"]["PROMETHEUS_URL"]
    deadline = time.monotonic() + 30  # the first scrape comes within one 15 s interval
    query = {"query": 'up{job="node"} == 1'}
    while not requests.get(prometheus + "/api/v1/query", params=query, timeout=5).json()["data"]["result"]:
        assert time.monotonic() < deadline, f"{prometheus} has no node exporter up"
        time.sleep(1)

    pids = list(record["pids"].values())
    down = subprocess.run([*STACK, "down", "--dir", str(state)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "nginx" in down.stdout and "postgres primary" in down.stdout
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids)
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/", timeout=3, verify=certificate)

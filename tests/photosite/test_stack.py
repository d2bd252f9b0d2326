"""`make stack` brings up the production topology from Debian packages and PyPI, serves
through nginx (with its media cache), and `make stack-down` stops exactly what it started."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from compose.local.services.net import free_port
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
        timeout=300,
    )
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield state, json.loads((state / "stack.json").read_text()), env
    finally:
        subprocess.run([*STACK, "down", "--dir", str(state)], cwd=ROOT, env=env, capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def test_stack_serves_through_nginx_renders_uploads_and_stops_cleanly(stack) -> None:
    state, record, env = stack
    url = record["url"]
    status = subprocess.run([*STACK, "status", "--dir", str(state)], capture_output=True, text=True, env=env).stdout
    for name in ("nginx", "web1", "web2", "worker1", "worker2", "maintenance1", "scheduler", "redis", "seaweedfs"):
        assert f"{name:10} up" in status, status
    home = requests.get(url + "/", timeout=10)
    assert home.status_code == 200 and "photosite" in home.text
    assert home.headers.get("X-Request-ID")
    ready = requests.get(url + "/readyz", timeout=10).json()
    assert ready["checks"]["replica:replica_0"]["state"] == "up", ready

    # A person uploads through the API behind nginx; a worker renders it.
    stack_env = {**env, **record["env"]}
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from apps.accounts.services import user_create as c; c(username='stacker', password='stack password 1')",
        ],
        cwd=ROOT,
        env=stack_env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    token = requests.post(
        url + "/api/v1/auth/token/", json={"username": "stacker", "password": "stack password 1"}, timeout=10
    ).json()["token"]
    headers = {"Authorization": f"Token {token}"}
    created = requests.post(
        url + "/api/v1/photos/",
        headers=headers,
        files={"file": ("a.jpg", jpeg_bytes(800, 600))},
        data={"title": "Through nginx"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    photo_url = f"{url}/api/v1/photos/{created.json()['id']}/"
    deadline = time.monotonic() + 60
    while (photo := requests.get(photo_url, headers=headers, timeout=10).json())["status"] != "ready":
        assert time.monotonic() < deadline, photo
        time.sleep(0.5)
    rendition = next(r for r in photo["renditions"] if r["format"] == "jpg")
    assert rendition["url"].startswith(url + "/photosite/public/")  # the CDN URL is nginx
    first, second = (requests.get(rendition["url"], timeout=10) for _ in range(2))
    assert first.status_code == 200 and first.content[:2] == b"\xff\xd8"
    assert second.headers["X-Cache-Status"] == "HIT"

    pids = list(record["pids"].values())
    down = subprocess.run([*STACK, "down", "--dir", str(state)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "nginx" in down.stdout and "postgres primary" in down.stdout
    assert not any(_alive(pid) for pid in pids)
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/", timeout=3)

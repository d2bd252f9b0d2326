"""The production nginx.conf (compose/production/nginx), as `make stack` renders it, run in
front of a test's own servers: the site under gunicorn, this run's SeaweedFS, or both.

One helper for every test that checks what the edge does (pages kept for visitors, a
takedown's purge), so they all run the same file the stack and compose run.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from compose.local.services.net import free_port
from tests.conftest import wait_for

NOWHERE = "127.0.0.1:9"  # the discard port: an upstream this test does not run


@contextlib.contextmanager
def nginx_in_front(
    state: Path,
    *,
    web: list[str] | None = None,
    media: str = NOWHERE,
    edit: Callable[[str], str] | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """nginx on a loopback port (`port`, or a free one) with these upstreams (host:port), until
    the block ends; yields its base URL. `edit` changes the rendered configuration before it
    starts (a bucket's name). The access log is off: the tests read headers, not log lines."""
    from compose.local import stack

    port = port or free_port()
    for folder in ("logs", "nginx/cache"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    conf = stack.render_nginx(listen=f"127.0.0.1:{port}", web=web or [NOWHERE, NOWHERE], media=media, state=state)
    conf = re.sub(r"access_log\s+/dev/stdout[^;]*;", "access_log off;", conf)  # `off` takes no format
    if edit is not None:
        conf = edit(conf)
    path = state / "nginx" / "nginx.conf"
    path.write_text(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    log = state / "nginx.log"
    process = subprocess.Popen(
        [nginx, "-c", str(path), "-p", str(path.parent), "-g", "daemon off;"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: process.poll() is None and answers(url + "/nginx-health"),
            timeout=15,
            what=f"nginx to answer; its log:\n{log.read_text(errors='replace') if log.exists() else ''}",
        )
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False

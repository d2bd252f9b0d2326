"""Loopback helpers for the services tests and benchmarks start: free ports, readiness."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: all sockets stay open until every port is picked."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


def wait_until_healthy(url: str, *, timeout: float = 30, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until `url` answers 200 (a server's /healthz); fail early if its process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")

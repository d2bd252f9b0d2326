"""Shared pieces for the benchmarks: a throwaway environment on this machine's
services, gunicorn, and wrk. Loopback only; every run is bounded in time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compose.local.services import seaweedfs  # noqa: E402
from compose.local.services.net import free_port, wait_until_healthy  # noqa: E402

BENCH_DB = "photosite_bench"


@dataclass
class BenchEnvironment:
    env: dict[str, str]
    seaweed: seaweedfs.SeaweedS3


@contextlib.contextmanager
def bench_environment(*, redis_db: int = 13, database: str = BENCH_DB) -> Iterator[BenchEnvironment]:
    """A fresh PostgreSQL database, a Redis database and a SeaweedFS server for one run.

    Benchmarks that may run at the same time as another need their own `database` and
    `redis_db` (and `redis_db - 1`, the broker's): each run drops and flushes both first.
    BENCH_REDIS_DB and BENCH_DB_SUFFIX override them, so two runs of one benchmark can share
    the machine.
    """
    redis_db = int(os.environ.get("BENCH_REDIS_DB", redis_db))
    database += os.environ.get("BENCH_DB_SUFFIX", "")
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database}")
    import redis

    redis.Redis(host="127.0.0.1", db=redis_db).flushdb()
    data_dir = Path(tempfile.mkdtemp(prefix="photosite-bench-s3-"))
    server = seaweedfs.start(data_dir)
    seaweedfs.create_bucket(server, "photosite-bench")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "BROKER_URL": f"redis://127.0.0.1:6379/{redis_db - 1}",
        "DJANGO_SECRET_KEY": "benchmark-only",
        "LOG_LEVEL": "WARNING",
        **server.env("photosite-bench"),
    }
    try:
        yield BenchEnvironment(env=env, seaweed=server)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout


def site_prepare(env: dict[str, str], *, photos: int) -> list[int]:
    """A benchmark's site, as a deploy leaves it: the schema, the static files' manifest (pages
    name their files through it), the bucket with its policy, then `photos` public photos with
    their renditions (bench/seed.py). Returns the photos' ids."""
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    manage(env, "storage_init")
    seeded = subprocess.run(
        [sys.executable, "bench/seed.py", str(photos)], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return [int(photo_id) for photo_id in seeded.stdout.split()]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 2, threads: int = 1, app: str | None = None) -> Iterator[str]:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "photosite/gunicorn.conf.py",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--access-logfile",
        "/dev/null",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    if app:
        args.append(app)
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url + "/healthz", process=process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _found(pattern: str, text: str, flags: int = 0) -> str:
    """The first group of a line wrk always prints; a different wrk output format fails here."""
    match = re.search(pattern, text, flags)
    if match is None:
        raise RuntimeError(f"wrk printed no line matching {pattern!r}:\n{text}")
    return match.group(1)


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise RuntimeError(f"wrk printed a latency as {text!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str, *, seconds: int = 10, connections: int = 32, threads: int = 2, headers: dict[str, str] | None = None
) -> WrkResult:
    """`headers` go on every request (a signed-in visitor's session cookie, Accept)."""
    binary = shutil.which("wrk")
    if not binary:
        raise SystemExit("wrk is missing: apt-get install wrk (bench/run installs it)")
    header_args = [argument for name, value in (headers or {}).items() for argument in ("-H", f"{name}: {value}")]
    output = subprocess.run(
        [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *header_args, url],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(_found(r"Requests/sec:\s+([\d.]+)", output))
    p50 = _milliseconds(_found(r"^\s+50%\s+(\S+)", output, re.MULTILINE))
    p99 = _milliseconds(_found(r"^\s+99%\s+(\S+)", output, re.MULTILINE))
    total = int(_found(r"(\d+) requests in", output))
    errors = 0
    for pattern in (
        r"Non-2xx or 3xx responses: (\d+)",
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
    ):
        found = re.search(pattern, output)
        if found:
            errors += sum(int(group) for group in found.groups())
    return WrkResult(rps, p50, p99, total, errors)


def machine_line() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace the section that starts with `heading` (up to the next '## '), or append it."""
    text = path.read_text() if path.exists() else "# Performance\n\n"
    start = text.find(heading)
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    path.write_text(text)

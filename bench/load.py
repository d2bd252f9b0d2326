"""Load on the whole stack: nginx in front of two gunicorn processes, replica reads, Redis,
SeaweedFS and two workers, brought up by compose/local/stack.py in a throwaway directory.

wrk (loopback, bounded) drives the home page, a photo page and the API list through
nginx, which keeps visitors' pages for the second the site allows (photosite/pagecache.py);
a Python mix of people who log in (API token), upload a photo, browse and like
runs for a fixed time. Beside them, in the same run, a bare Django view on one gunicorn
with the same settings as one web process: the framework's ceiling on this box.

    .venv/bin/python bench/load.py [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository root

from bench.common import gunicorn, machine_line, wrk
from compose.local import stack
from compose.local.services.net import free_port


def _jpeg(seed: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), ((seed * 37) % 256, (seed * 91) % 256, 128)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def mix(url: str, *, seconds: int, people: int) -> dict[str, float]:
    """Each person: get a token, then loop: upload (1 in 5 rounds), home, a photo page, like it."""
    latencies: list[float] = []
    errors = 0
    operations = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def person(index: int) -> None:
        nonlocal errors, operations
        session = requests.Session()
        while True:  # the gateway allows one login per second per address (burst 5): wait like a client would
            answer = session.post(
                f"{url}/api/v1/auth/token/",
                json={"username": f"load{index}", "password": "load password 1"},
                timeout=10,
            )
            if answer.status_code != 429:
                break
            time.sleep(1)
        token = answer.json()["token"]
        session.headers["Authorization"] = f"Token {token}"
        round_number = 0
        photo_id = None
        while time.monotonic() < deadline:
            steps: list[tuple[str, str, dict[str, Any]]] = []
            if round_number % 5 == 0:
                steps.append(("post", "/api/v1/photos/", {"files": {"file": ("p.jpg", _jpeg(index + round_number))}}))
            steps.append(("get", "/", {}))
            if photo_id:
                steps.append(("get", f"/photos/{photo_id}/", {}))
                steps.append(("post", f"/api/v1/photos/{photo_id}/like/", {}))
            for method, path, kwargs in steps:
                started = time.perf_counter()
                try:
                    ok = session.request(method, url + path, timeout=30, **kwargs).status_code < 400
                except requests.RequestException:
                    ok = False
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    operations += 1
                    errors += 0 if ok else 1
            if photo_id is None:  # a ready public photo to look at and like
                listed = session.get(f"{url}/api/v1/photos/?limit=1", timeout=10).json()["results"]
                photo_id = listed[0]["id"] if listed else None
            round_number += 1

    threads = [threading.Thread(target=person, args=(index,)) for index in range(people)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "rps": operations / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "requests": operations,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--people", type=int, default=8)
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="photosite-load-"))
    state.chmod(0o755)
    os.environ.update({f"API_THROTTLE_{name}": "100000000/min" for name in ("ANON", "USER", "LOGIN", "UPLOAD")})
    for name in ("DATABASE_URL", "REDIS_URL", "BROKER_URL", "S3_BUCKET"):
        os.environ.pop(name, None)
    rows: list[tuple[str, float, float, float, int, int]] = []
    load_before = os.getloadavg()[0]
    try:
        record = stack.up(state, port=free_port(), seed=True, api_rate="100000r/s")
        url = record["url"]
        env = {**os.environ, **record["env"]}
        import subprocess

        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from apps.accounts.services import user_create as c\n"
                f"for i in range({args.people}): c(username=f'load{{i}}', password='load password 1')",
            ],
            cwd=stack.ROOT,
            env=env,
            check=True,
        )
        photo = requests.get(f"{url}/api/v1/photos/?limit=1", timeout=10).json()["results"][0]["id"]
        home = [requests.get(f"{url}/", timeout=10).headers.get("X-Cache-Status", "-") for _ in range(3)]
        print(f"home page through nginx, X-Cache-Status of three visits: {', '.join(home)}")
        targets = {
            "home page (nginx → 2 web)": f"{url}/",
            "photo page": f"{url}/photos/{photo}/",
            "API photo list": f"{url}/api/v1/photos/",
        }
        for name, target in targets.items():
            result = wrk(target, seconds=args.seconds, connections=args.connections)
            rows.append(
                (name, result.requests_per_second, result.p50_ms, result.p99_ms, result.requests, result.errors)
            )
        mixed = mix(url, seconds=args.seconds * 2, people=args.people)
        rows.append(
            (
                f"mix: {args.people} people log in, upload, browse, like",
                mixed["rps"],
                mixed["p50"],
                mixed["p99"],
                int(mixed["requests"]),
                int(mixed["errors"]),
            )
        )
        with gunicorn(env, workers=2, threads=4, app="bench.bare_wsgi:application") as bare_url:
            result = wrk(bare_url + "/", seconds=args.seconds, connections=args.connections)
            rows.append(
                (
                    "bare Django view, one gunicorn (2 workers x 4 threads)",
                    result.requests_per_second,
                    result.p50_ms,
                    result.p99_ms,
                    result.requests,
                    result.errors,
                )
            )
    finally:
        stack.down(state)
        shutil.rmtree(state, ignore_errors=True)

    print(
        f"\n{machine_line()}; wrk {args.connections} connections, {args.seconds} s each, loopback; "
        f"load average (1 min) {load_before:.1f} before the stack came up, {os.getloadavg()[0]:.1f} after\n"
    )
    print("| target | req/s | p50 ms | p99 ms | requests | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, rps, p50, p99, total, errors in rows:
        print(f"| {name} | {rps:,.0f} | {p50:.1f} | {p99:.1f} | {total:,} | {errors} |")
    by_name = {row[0]: row[1] for row in rows}
    bare = next(rps for name, rps in by_name.items() if name.startswith("bare Django view"))
    print(f"\nhome page through nginx / bare gunicorn: {rows[0][1] / bare:.2f}x")
    print("\n" + json.dumps(by_name))


if __name__ == "__main__":
    main()

"""Warm-cache vs cache-off throughput of the home page and a photo page.

    .venv/bin/python bench/cache.py [--seconds 10] [--write docs/PERFORMANCE.md]
    .venv/bin/python bench/cache.py --profile   # where a cold render's time goes (cProfile), no load

Same machine, same data, same gunicorn settings (2 sync workers, as the design's
reference figure), run side by side: once with Redis caching (warmed first), once
with CACHE_ENABLED=false so every request reads PostgreSQL. Also a bare Django
view on the same gunicorn settings: the framework's ceiling on this box.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository root

from bench.common import ROOT, bench_environment, gunicorn, machine_line, manage, write_section, wrk

PHOTOS = 120


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--write", type=Path, help="replace this benchmark's section in a Markdown file")
    parser.add_argument("--profile", action="store_true", help="profile cold renders in-process instead")
    parser.add_argument("--profile-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_child:
        profile_in_this_process(args.profile_child)
        return

    # Its own database and Redis: other benchmarks may run meanwhile.
    with bench_environment(redis_db=7, database="photosite_bench_cache") as bench:
        manage(bench.env, "migrate", "--noinput", "-v", "0")
        manage(bench.env, "collectstatic", "--noinput", "-v", "0")
        manage(bench.env, "storage_init")
        seeded = subprocess.run(
            [sys.executable, "bench/seed.py", str(PHOTOS)],
            cwd=ROOT,
            env=bench.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        photo_path = f"/photos/{seeded[len(seeded) // 2]}/"
        if args.profile:
            child = [sys.executable, "bench/cache.py", "--profile-child", "/", photo_path]
            subprocess.run(child, cwd=ROOT, env={**bench.env, "CACHE_ENABLED": "false"}, check=True)
            return
        rows = []
        load_before = os.getloadavg()[0]
        with gunicorn(bench.env, app="bench.bare_wsgi:application") as url:
            bare = wrk(url + "/", seconds=args.seconds)
        rows.append(("bare Django view (ceiling)", "-", bare))
        main_pages = (("home", "/"), ("photo page", photo_path))
        more_pages = (
            ("tag page", "/tags/topic3/"),
            ("profile", "/accounts/people/bench3/"),
            ("API photo list", "/api/v1/photos/"),
        )
        configurations: tuple[tuple[str, dict[str, str], tuple[tuple[str, str], ...]], ...] = (
            ("whole-page cache (Redis)", {}, main_pages + more_pages),
            ("fragments only", {"PAGE_CACHE_ENABLED": "false"}, main_pages),
            ("cache off", {"CACHE_ENABLED": "false"}, main_pages),
        )
        unthrottled = {"API_THROTTLE_ANON": "100000000/min"}  # measure the API, not its anonymous limit
        for label, extra, pages in configurations:
            with gunicorn({**bench.env, **unthrottled, **extra}) as url:
                for page, path in pages:
                    for _ in range(3):  # warm the cache (and the processes)
                        urllib.request.urlopen(url + path, timeout=10).read()
                    rows.append((label, page, wrk(url + path, seconds=args.seconds)))

    load_after = os.getloadavg()[0]
    by_key = {(label, page): result for label, page, result in rows}
    lines = [
        "## Cache: warm vs off (whole pages, fragments only, cache off)",
        "",
        f"Command: `.venv/bin/python bench/cache.py --seconds {args.seconds} --write docs/PERFORMANCE.md`  ",
        f"Machine: {machine_line()}. gunicorn 2 sync workers; wrk 2 threads, 32 connections, "
        f"{args.seconds} s per row, loopback; {PHOTOS} public photos; anonymous visitor. "
        f"Load average (1 min, `uptime`) {load_before:.1f} before the rows, {load_after:.1f} after.",
        "",
        "| configuration | page | req/s | p50 ms | p99 ms | errors | vs bare view | warm / off |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, page, result in rows:
        ratio_bare = result.requests_per_second / bare.requests_per_second
        off = by_key.get(("cache off", page))
        warm_over_off = (
            f"{result.requests_per_second / off.requests_per_second:.2f}x" if off and label != "cache off" else ""
        )
        lines.append(
            f"| {label} | {page} | {result.requests_per_second:,.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} "
            f"| {result.errors} | {ratio_bare:.2f} | {warm_over_off} |"
        )
    lines += [
        "",
        "Rows: *whole-page cache* is an anonymous visitor's page answered from Redis before",
        "sessions, auth, CSRF and messages run (photosite/pagecache.py; the API list is not kept",
        "whole, so that row renders it); *fragments only* (PAGE_CACHE_ENABLED=false) renders the",
        "page around the cached grid HTML and photo card; *cache off* (CACHE_ENABLED=false) reads",
        "everything from PostgreSQL and renders every card. Where a cold render's time goes:",
        "`bench/cache.py --profile` (cProfile through the test client). Public renditions are",
        "linked by plain URL (no S3 signature), which is also what lets a CDN cache them.",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        write_section(args.write, "## Cache: warm vs off", section)


def profile_in_this_process(paths: list[str], rounds: int = 20) -> None:
    """cProfile of `rounds` renders of each page through Django's test client (cache off:
    every render is cold), after one unprofiled render each; the top functions by own time
    and by cumulative time."""
    import cProfile
    import pstats

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosite.settings")
    import django

    django.setup()
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    for path in paths:
        assert client.get(path).status_code == 200, path
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(rounds):
            client.get(path)
        profiler.disable()
        print(f"\n=== {path}: {rounds} cold renders ===")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()

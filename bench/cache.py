"""Warm-cache vs cache-off throughput of the home page and a photo page.

    .venv/bin/python bench/cache.py [--seconds 10] [--write docs/PERFORMANCE.md]
    .venv/bin/python bench/cache.py --seconds 5 --rows "whole-page cache: home" --rows gzip   # some rows only
    .venv/bin/python bench/cache.py --profile   # where a cold render's time goes (cProfile), no load
    .venv/bin/python bench/cache.py --profile-hit   # where a visitor's cached page's time goes

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
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository root

from bench.common import (
    ROOT,
    WrkResult,
    bench_environment,
    gunicorn,
    machine_line,
    manage,
    site_prepare,
    write_section,
    wrk,
)

PHOTOS = 120


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--write", type=Path, help="replace this benchmark's section in a Markdown file")
    parser.add_argument("--profile", action="store_true", help="profile cold renders in-process instead")
    parser.add_argument("--profile-hit", action="store_true", help="profile cached hits in-process instead")
    parser.add_argument(
        "--rows",
        action="append",
        metavar="TEXT",
        help="only the rows whose 'configuration: page' contains TEXT (repeatable; not with --write)",
    )
    parser.add_argument("--profile-child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--profile-hit-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rows and args.write:
        parser.error("--rows measures part of the table: it cannot --write it")
    if args.profile_child:
        profile_in_this_process(args.profile_child)
        return
    if args.profile_hit_child:
        profile_hits_in_this_process(args.profile_hit_child)
        return

    # Its own database and Redis: other benchmarks may run meanwhile.
    with bench_environment(redis_db=7, database="photosite_bench_cache") as bench:
        seeded = site_prepare(bench.env, photos=PHOTOS)
        photo_path = f"/photos/{seeded[len(seeded) // 2]}/"
        if args.profile:
            child = [sys.executable, "bench/cache.py", "--profile-child", "/", photo_path]
            subprocess.run(child, cwd=ROOT, env={**bench.env, "CACHE_ENABLED": "false"}, check=True)
            return
        if args.profile_hit:
            child = [sys.executable, "bench/cache.py", "--profile-hit-child", "/", photo_path]
            subprocess.run(child, cwd=ROOT, env={**bench.env, "LOG_LEVEL": "INFO"}, check=True)
            return
        album_id = manage(
            bench.env,
            "shell",
            "-c",
            "from apps.accounts.models import User\n"
            "from apps.albums.services import album_create\n"
            "owner = User.objects.get(username='bench3')\n"
            "ids = list(owner.photos.values_list('pk', flat=True))\n"
            "print(album_create(owner=owner, title='Bench album', photo_ids=ids).pk)",
        ).split()[-1]
        rows: list[tuple[str, str, WrkResult, WrkResult]] = []
        load_before = os.getloadavg()[0]
        main_pages = (("home", "/"), ("photo page", photo_path))
        more_pages = (
            ("tag page", "/tags/topic3/"),
            ("profile", "/accounts/people/bench3/"),
            ("explore", "/explore/"),
            ("album", f"/albums/{album_id}/"),
        )
        gzip = {"Accept-Encoding": "gzip"}  # what browsers send; wrk sends no Accept-Encoding of its own
        configurations: tuple[tuple[str, dict[str, str], tuple[tuple[str, str], ...], dict[str, str]], ...] = (
            ("whole-page cache (Redis)", {}, main_pages + more_pages, {}),
            ("whole-page cache, gzip", {}, main_pages, gzip),
            ("fragments only", {"PAGE_CACHE_ENABLED": "false"}, main_pages, {}),
            ("cache off", {"CACHE_ENABLED": "false"}, main_pages, {}),
        )
        # The ceiling is measured again just before each row (its gunicorn idles meanwhile):
        # the box's load moves within a run, and each ratio is then taken at the same load.
        if args.rows:
            configurations = tuple(
                (label, extra, chosen, headers)
                for label, extra, pages, headers in configurations
                if (chosen := tuple(page for page in pages if any(text in f"{label}: {page[0]}" for text in args.rows)))
            )
        with gunicorn(bench.env, app="bench.bare_wsgi:application") as bare_url:
            for label, extra, pages, headers in configurations:
                with gunicorn({**bench.env, **extra}) as url:
                    for page, path in pages:
                        bare = wrk(bare_url + "/", seconds=args.seconds)
                        for _ in range(3):  # warm the cache (and the processes)
                            urllib.request.urlopen(url + path, timeout=10).read()
                        result = wrk(url + path, seconds=args.seconds, headers=headers)
                        rows.append((label, page, result, bare))

    load_after = os.getloadavg()[0]
    by_key = {(label, page): result for label, page, result, _ in rows}
    lines = [
        "## Cache: warm vs off (whole pages, fragments only, cache off)",
        "",
        f"Command: `.venv/bin/python bench/cache.py --seconds {args.seconds} --write docs/PERFORMANCE.md`  ",
        f"Machine: {machine_line()}. gunicorn 2 sync workers; wrk 2 threads, 32 connections, "
        f"{args.seconds} s per row, loopback; {PHOTOS} public photos; anonymous visitor. "
        f"Load average (1 min, `uptime`) {load_before:.1f} before the rows, {load_after:.1f} after.",
        "",
        "| configuration | page | req/s | bare view just before | vs bare view | p50 ms | p99 ms | errors "
        "| bare p99 ms | warm / off |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, page, result, bare in rows:
        off = by_key.get(("cache off", page))
        warm_over_off = (
            f"{result.requests_per_second / off.requests_per_second:.2f}x" if off and label != "cache off" else ""
        )
        lines.append(
            f"| {label} | {page} | {result.requests_per_second:,.0f} | {bare.requests_per_second:,.0f} "
            f"| {result.requests_per_second / bare.requests_per_second:.2f} | {result.p50_ms:.1f} "
            f"| {result.p99_ms:.1f} | {result.errors} | {bare.p99_ms:.1f} | {warm_over_off} |"
        )
    lines += [
        "",
        "Rows: *whole-page cache* is an anonymous visitor's page answered from Redis ahead of",
        "Django's handler (photosite/wsgi.py), in one round trip (photosite/pagecache.py): Redis checks the",
        "page's versions and, when the web process already holds that entry's bytes, answers with its digest",
        "alone; access lines are off in every row (LOG_LEVEL=WARNING; `--profile-hit` logs at INFO);",
        "*gzip* is the same with",
        "`Accept-Encoding: gzip`, as browsers send it (the copy gzipped when it was kept);",
        "*fragments only* (PAGE_CACHE_ENABLED=false) renders the page around the cached grid HTML",
        "and photo card; *cache off* (CACHE_ENABLED=false) reads everything from PostgreSQL and",
        "renders every card. *bare view just before*: a Django view with no middleware, no",
        "database and a one-line page (bench/bare_wsgi.py) on the same gunicorn settings, measured",
        "right before the row; *vs bare view* divides by it, *bare p99* is its tail. gunicorn",
        "replaces a worker after GUNICORN_MAX_REQUESTS (photosite/gunicorn.conf.py), by a fork of",
        "its master, which loaded the site once (preload_app): before, the new worker imported the",
        "site again for about a second while the other answered alone. Where a",
        "cold render's time goes: `bench/cache.py --profile`; a hit's: `bench/cache.py",
        "--profile-hit` (cProfile on CPU time, straight into the WSGI application). Public",
        "renditions are linked by plain URL (no S3 signature), which is also what lets a CDN",
        "cache them.",
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


def profile_hits_in_this_process(paths: list[str], rounds: int = 3000) -> None:
    """cProfile of `rounds` visitor's requests per page straight into the WSGI application
    (as gunicorn calls it, without the socket), after the page is kept; the access log at
    INFO, as in production, written to /dev/null. Timed by this process's CPU time, so the
    profile shows what the web process spends, not how long it waited for Redis."""
    import cProfile
    import io
    import logging
    import pstats

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosite.settings")
    from photosite.wsgi import application

    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))

    def request(path: str) -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1:8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
        }
        status: list[str] = []

        def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            status.append(line)
            return lambda data: None

        body = b"".join(application(environ, start_response))
        return status[0], body

    for path in paths:
        for _ in range(3):
            assert request(path)[0].startswith("200"), path
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            request(path)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        profiler = cProfile.Profile(time.process_time)  # this process's CPU: not the waits for Redis
        profiler.enable()
        for _ in range(rounds):
            request(path)
        profiler.disable()
        each = f"unprofiled {wall / rounds * 1e6:.0f} us wall, {cpu / rounds * 1e6:.0f} us CPU each"
        print(f"\n=== {path}: {rounds} hits, {each} ===")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()

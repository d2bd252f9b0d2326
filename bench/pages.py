"""Cold renders, the API and signed-in pages (issue 16), each beside a bare view of the same run.

    .venv/bin/python bench/pages.py [--seconds 8] [--write docs/PERFORMANCE.md]
    .venv/bin/python bench/pages.py --profile   # cProfile: cold home and photo page (bench/cache.py's),
                                                # then warm signed-in home and feed, API list and detail

One throwaway environment (bench/common.py), 120 photos seeded as bench/cache.py seeds them,
and one gunicorn per configuration (2 sync workers): the bare Django view and a bare JSON view
(the ceilings), the home page and a photo page with CACHE_ENABLED=false (every render cold),
the home page and the following feed signed in with the cache warm (wrk sends the session
cookie), and the API's public photo list and one photo's detail, anonymous, warm. Where a cold
render's time goes: `bench/cache.py --profile`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository root

from bench.common import ROOT, WrkResult, bench_environment, gunicorn, machine_line, manage, write_section, wrk

PHOTOS = 120
HEADING = "## Cold renders, the API and signed-in pages (issue 16)"
SIGNED_IN = "bench1"  # follows bench2 to bench9: a full first page of the feed
UNTHROTTLED = {"API_THROTTLE_ANON": "100000000/min", "API_THROTTLE_USER": "100000000/min"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--write", type=Path, help="replace this benchmark's section in a Markdown file")
    parser.add_argument("--profile", action="store_true", help="profile cold renders, signed-in pages and the API")
    parser.add_argument("--setup-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup_child:
        print(json.dumps(follows_and_session()))
        return
    if args.profile_child:
        profile_in_this_process(args.profile_child)
        return

    # Its own database and Redis databases: other benchmarks may run meanwhile.
    with bench_environment(redis_db=11, database="photosite_bench_pages") as bench:
        manage(bench.env, "migrate", "--noinput", "-v", "0")
        manage(bench.env, "collectstatic", "--noinput", "-v", "0")
        manage(bench.env, "storage_init")
        seeded = run_child(bench.env, "bench/seed.py", str(PHOTOS)).split()
        photo_id = seeded[len(seeded) // 2]
        setup = json.loads(run_child(bench.env, "bench/pages.py", "--setup-child"))
        photo_path, api_detail = f"/photos/{photo_id}/", f"/api/v1/photos/{photo_id}/"
        if args.profile:
            # Cold renders as bench/cache.py profiles them, but on this run's own database.
            cold = [sys.executable, "bench/cache.py", "--profile-child", "/", photo_path]
            subprocess.run(cold, cwd=ROOT, env={**bench.env, "CACHE_ENABLED": "false"}, check=True)
            paths = ["/", "/following/", "/api/v1/photos/", api_detail]
            child = [sys.executable, "bench/pages.py", "--profile-child", setup["cookie"], *paths]
            subprocess.run(child, cwd=ROOT, env={**bench.env, **UNTHROTTLED}, check=True)
            return
        rows = measure(bench.env, setup["cookie"], photo_path, api_detail, seconds=args.seconds)
    section = render_section(rows, seconds=args.seconds)
    print(section)
    if args.write:
        write_section(args.write, HEADING, section)


def run_child(env: dict[str, str], *command: str) -> str:
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


Row = tuple[str, str, WrkResult, float]  # (page, configuration, result, load average before it)


def measure(env: dict[str, str], cookie: str, photo_path: str, api_detail: str, *, seconds: int) -> list[Row]:
    rows: list[Row] = []

    def run(page: str, configuration: str, url: str, headers: dict[str, str] | None = None) -> None:
        for _ in range(3):  # warm the cache and the processes
            request = urllib.request.Request(url, headers=headers or {})
            urllib.request.urlopen(request, timeout=10).read()
        load = os.getloadavg()[0]
        rows.append((page, configuration, wrk(url, seconds=seconds, headers=headers), load))

    with gunicorn(env, app="bench.bare_wsgi:application") as url:
        run("bare Django view (ceiling)", "no middleware, no database", url + "/")
        run("bare JSON view (API ceiling)", "no middleware, no database", url + "/json")
    with gunicorn({**env, "CACHE_ENABLED": "false"}) as url:
        run("home, cold", "CACHE_ENABLED=false", url + "/")
        run("photo page, cold", "CACHE_ENABLED=false", url + photo_path)
    signed_in = {"Cookie": cookie}
    with gunicorn({**env, **UNTHROTTLED}) as url:
        run("home, signed in", "cache warm", url + "/", signed_in)
        run("following feed, signed in", "cache warm", url + "/following/", signed_in)
        run("API photo list", "anonymous, cache warm", url + "/api/v1/photos/")
        run("API photo detail", "anonymous, cache warm", url + api_detail)
    with gunicorn({**env, **UNTHROTTLED, "PAGE_CACHE_ENABLED": "false"}) as url:
        run("API photo list", "anonymous, page cache off", url + "/api/v1/photos/")
        run("API photo detail", "anonymous, page cache off", url + api_detail)
    return rows


GOALS = {
    "home, cold": 0.15,
    "photo page, cold": 0.25,
    "home, signed in": 0.15,
    "following feed, signed in": 0.15,
    "API photo list": 0.3,
    "API photo detail": 0.3,
}


def render_section(rows: list[Row], *, seconds: int) -> str:
    bare_html = rows[0][2].requests_per_second
    bare_json = rows[1][2].requests_per_second
    loads = [load for *_, load in rows]
    lines = [
        HEADING,
        "",
        f"Command: `.venv/bin/python bench/pages.py --seconds {seconds} --write docs/PERFORMANCE.md`  ",
        f"Machine: {machine_line()}. gunicorn 2 sync workers; wrk 2 threads, 32 connections, {seconds} s a row, "
        f"loopback; {PHOTOS} public photos by 10 people; signed in as {SIGNED_IN}, who follows 8 of them. "
        f"Load average (1 min) before the rows: {min(loads):.1f} to {max(loads):.1f}.",
        "",
        "| page | configuration | req/s | p50 ms | p99 ms | errors | vs its bare view | goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for page, configuration, result, _ in rows:
        bare = bare_json if page.startswith("API") or "JSON" in page else bare_html
        ratio = result.requests_per_second / bare
        goal = GOALS.get(page)
        verdict = f">= {goal:.2f}x: {'met' if ratio >= goal else 'not met'}" if goal else ""
        lines.append(
            f"| {page} | {configuration} | {result.requests_per_second:,.0f} | {result.p50_ms:.1f} "
            f"| {result.p99_ms:.1f} | {result.errors} | {ratio:.2f}x | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def follows_and_session() -> dict[str, str]:
    """In the benchmark's environment: SIGNED_IN follows bench2..bench9; the cookies of their
    browser (the session, and the CSRF cookie the first page set)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosite.settings")
    import django

    django.setup()
    from django.test import Client

    from apps.accounts.models import User
    from apps.social.services import follow_set

    viewer = User.objects.get(username=SIGNED_IN)
    for index in range(2, 10):
        follow_set(follower=viewer, followee=User.objects.get(username=f"bench{index}"), following=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(viewer)
    client.get("/")  # a browser keeps the CSRF cookie the first page sets (the header's log-out form)
    return {"cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={client.cookies['csrftoken'].value}"}


def profile_in_this_process(arguments: list[str], rounds: int = 200) -> None:
    """cProfile of `rounds` warm requests to each path through Django's test client, signed in
    for the HTML pages (the cookies given) and anonymous for the API, after three unprofiled ones."""
    import cProfile
    import pstats

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosite.settings")
    import django

    django.setup()
    from django.test import Client

    cookie, *paths = arguments
    for path in paths:
        client = Client(HTTP_HOST="localhost")
        if not path.startswith("/api/"):
            for name, value in (pair.split("=", 1) for pair in cookie.split("; ")):
                client.cookies[name] = value
        for _ in range(3):
            assert client.get(path).status_code == 200, path
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(rounds):
            client.get(path)
        profiler.disable()
        print(f"\n=== {path}: {rounds} warm requests ===")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()

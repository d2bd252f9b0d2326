"""Cached pages under a steady stream of writes, against the same pages with none.

    .venv/bin/python bench/write_load.py [--seconds 20] [--rate 10] [--write docs/PERFORMANCE.md]

One gunicorn (2 sync workers, Redis cache, PostgreSQL), anonymous visitors. For
each page, wrk runs in alternating turns (a quarter of `--seconds` each, twice
`--seconds` in all): with the writer paused (SIGSTOP), and while the writer
process uploads and edits photos at `--rate` a second (every other write a new
photo made ready at once through the real rendition pipeline, the rest a title
edit of one of the writer's photos). The writer is one person with its own tag,
so its writes touch the home page (`recent`), its own profile and its tag, and
nothing else: the tag page and the profile measured below are pages a write does
not touch. The hit ratio is read from the site's own `photosite_cache_reads`
counters (the shared grid's reads: hit or stale, against computed).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository root

from bench.common import ROOT, WrkResult, bench_environment, gunicorn, machine_line, site_prepare, write_section, wrk

PHOTOS = 120
TURNS = 4  # each page's no-write and under-write minutes, taken in alternating quarters
# shared: everything on every core, as on one small box. split: gunicorn pinned to one core,
# the writer (renditions included) and wrk to the others, as in production where renditions
# run on worker hosts; PostgreSQL and Redis stay on every core in both.
LAYOUTS = ("shared", "split")
PAGES = (
    ("tag page (untouched)", "/tags/topic3/"),
    ("profile (untouched)", "/accounts/people/bench3/"),
    ("home (every write lands here)", "/"),
)


@dataclass
class Window:
    """One wrk run against one page, and what the site's caches did meanwhile."""

    result: WrkResult
    page_hits: int  # requests answered whole from the page cache (photosite/pagecache.py)
    page_requests: int  # every visitor's request the page cache saw (hit, miss or bypassed)
    grids_computed: int  # the shared grid rendered from the database (no fresh or stale copy)
    load: float  # the machine's 1-minute load average, the higher of before and after

    @property
    def hit_ratio(self) -> float:
        """The share of requests that recomputed nothing: the whole page, or its grid, from Redis."""
        return 1 - self.grids_computed / self.result.requests if self.result.requests else 0.0


@dataclass
class Row:
    layout: str  # "shared" or "split" (LAYOUTS)
    label: str
    quiet: Window
    busy: Window
    writes: int
    writer_cores: float  # the writer's CPU seconds over its wall seconds


def cache_counters(url: str) -> dict[str, float]:
    """The site's own counters: page-cache outcomes ("page:hit") and the grid's reads ("grid:computed")."""
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    found: dict[str, float] = {"page:hit": 0.0, "page:all": 0.0, "grid:computed": 0.0}
    for outcome, value in re.findall(
        r'^photosite_cache_reads_total\{family="photos:grid",outcome="(\w+)"\} (\S+)$', text, re.MULTILINE
    ):
        found[f"grid:{outcome}"] = float(value)
    for outcome, value in re.findall(
        r'^photosite_page_cache_requests_total\{outcome="(\w+)"\} (\S+)$', text, re.MULTILINE
    ):
        found[f"page:{outcome}"] = float(value)
        found["page:all"] += float(value)
    return found


def measured(url: str, path: str, seconds: int) -> Window:
    before, load = cache_counters(url), os.getloadavg()[0]
    result = wrk(url + path, seconds=seconds)
    after = cache_counters(url)
    return Window(
        result,
        page_hits=int(after["page:hit"] - before["page:hit"]),
        page_requests=int(after["page:all"] - before["page:all"]),
        grids_computed=int(after["grid:computed"] - before["grid:computed"]),
        load=max(load, os.getloadavg()[0]),
    )


def in_turns(url: str, path: str, seconds: int, writer_pid: int) -> tuple[Window, Window]:
    """The page without writes and under writes, measured in alternating turns of seconds / TURNS
    each (the writer paused with SIGSTOP in between), so a change in the machine's other load
    falls on both alike: measured one after the other, the two minutes saw load averages 2x apart."""
    quiet: list[Window] = []
    busy: list[Window] = []
    for _ in range(TURNS):
        os.kill(writer_pid, signal.SIGSTOP)
        quiet.append(measured(url, path, seconds // TURNS))
        os.kill(writer_pid, signal.SIGCONT)
        busy.append(measured(url, path, seconds // TURNS))
    return combined(quiet), combined(busy)


def combined(windows: list[Window]) -> Window:
    requests = sum(window.result.requests for window in windows)
    rate = statistics.mean(window.result.requests_per_second for window in windows)  # equal turns
    return Window(
        WrkResult(rate, 0.0, 0.0, requests, sum(window.result.errors for window in windows)),
        page_hits=sum(window.page_hits for window in windows),
        page_requests=sum(window.page_requests for window in windows),
        grids_computed=sum(window.grids_computed for window in windows),
        load=max(window.load for window in windows),
    )


def writer_main(seconds: float, rate: float) -> None:
    """The background writer: runs inside the benchmark's environment (Django settings from it)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosite.settings")
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    # Our code only after django.setup(): models need the app registry ready.
    from apps.accounts.models import User
    from apps.accounts.services import user_create
    from apps.photos.demo_images import landscape_jpeg
    from apps.photos.models import Photo
    from apps.photos.services import photo_create, photo_update, rendition_make_all

    writer = User.objects.filter(username="writer").first() or user_create(
        username="writer", password="bench-password-1"
    )

    # One person's identical bytes are refused as a duplicate (409), and the writer runs once
    # per page measured: each upload's image is drawn from a seed no earlier upload used.
    first_seed = 10_000 + Photo.objects.filter(owner=writer).count()
    mine: list[int] = []
    uploads = 0
    print("ready", flush=True)  # set up (Django, imports): the measured window may start
    interval, deadline, done = 1 / rate, time.monotonic() + seconds, 0
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda number, frame: stopping.append(number))  # finish the write, report
    while time.monotonic() < deadline and not stopping:
        started = time.monotonic()
        if done % 2 == 0 or not mine:
            data = landscape_jpeg(width=640, height=427, seed=first_seed + uploads, quality=75)
            uploads += 1
            photo = photo_create(
                owner=writer,
                upload=SimpleUploadedFile(f"w{done}.jpg", data, content_type="image/jpeg"),
                title=f"Fresh {done}",
                tags=["fresh"],
            )
            rendition_make_all(photo_id=photo.pk)
            mine.append(photo.pk)
        else:
            photo = Photo.objects.get(pk=mine[done % len(mine)])
            photo_update(photo=photo, title=f"Edited {done}", caption="", alt_text="", visibility="public")
        done += 1
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    # Its CPU time too: on this one machine every second of it is taken from the web workers.
    print(f"writes {done} cpu {time.process_time():.2f}")


def measure_layout(layout: str, env: dict[str, str], seconds: int, rate: float) -> list[Row]:
    """Each page without and under writes, with gunicorn on both cores or on a core of its own."""
    everything = os.sched_getaffinity(0)
    web_cores, other_cores = everything, everything
    if layout == "split" and len(everything) >= 2:
        first = min(everything)
        web_cores, other_cores = {first}, everything - {first}
    rows = []
    os.sched_setaffinity(0, web_cores)  # gunicorn and its workers inherit it
    try:
        with gunicorn(env) as url:
            os.sched_setaffinity(0, other_cores)  # the writer and wrk inherit this one
            for label, path in PAGES:
                for _ in range(3):
                    urllib.request.urlopen(url + path, timeout=10).read()
                writer = subprocess.Popen(
                    [
                        sys.executable,
                        "bench/write_load.py",
                        "--writer",
                        "--seconds",
                        str(2 * seconds + 60),  # stopped by SIGTERM once measured
                        "--rate",
                        str(rate),
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert writer.stdout is not None
                assert writer.stdout.readline().strip() == "ready"  # writing from now on
                quiet, busy = in_turns(url, path, seconds, writer.pid)
                writer.send_signal(signal.SIGTERM)
                out, _ = writer.communicate(timeout=120)
                _, writes, _, cpu_seconds = out.split()[-4:]
                rows.append(Row(layout, label, quiet, busy, int(writes), float(cpu_seconds) / seconds))
    finally:
        os.sched_setaffinity(0, everything)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--write", type=Path, help="replace this benchmark's section in a Markdown file")
    parser.add_argument(
        "--layout",
        choices=(*LAYOUTS, "both"),
        default="both",
        help="shared: gunicorn, the writer and wrk on every core; split: gunicorn on a core of its own",
    )
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        writer_main(args.seconds, args.rate)
        return

    rows: list[Row] = []
    # Its own database and Redis databases: other benchmarks (bench/cache.py) may run meanwhile.
    environment = bench_environment(database="photosite_bench_write_load", redis_db=5)
    with environment as bench, tempfile.TemporaryDirectory(prefix="photosite-bench-prom-") as prom:
        env = {**bench.env, "PROMETHEUS_MULTIPROC_DIR": prom}  # the counters of both workers, added up
        site_prepare(env, photos=PHOTOS)
        for layout in LAYOUTS if args.layout == "both" else (args.layout,):
            rows += measure_layout(layout, env, args.seconds, args.rate)

    lines = [
        "## Cache under writes: pages a write does not touch keep hitting",
        "",
        f"Command: `.venv/bin/python bench/write_load.py --seconds {args.seconds} --rate {args.rate:g} "
        f"--layout {args.layout} --write docs/PERFORMANCE.md`  ",
        f"Machine: {machine_line()}. gunicorn 2 sync workers, Redis cache, PostgreSQL; wrk 2 threads, 32 "
        f"connections, {args.seconds} s per column in {TURNS} alternating turns (the writer paused for the "
        f"no-write ones), loopback; {PHOTOS} public photos in 10 tags by 10 people; "
        f"anonymous visitors. Writer: aims at {args.rate:g} writes/s (half uploads made ready at once, half title "
        "edits; `writes` is what it managed), all by one person under one tag. From cache: the requests that "
        "recomputed nothing (1 - grids computed / requests), from the site's own counters; in brackets, those "
        "answered whole by the page cache, the rest by the view from the cached grid (fresh or stale). Load: the "
        "machine's 1-minute load average while the row ran (other work on this shared machine included).",
        "",
        "| cores | page | no writes: req/s | from cache (whole page) | grids computed | load "
        "| under writes: req/s | from cache (whole page) | grids computed | load | writes | writer CPU (cores) "
        "| throughput under writes / none |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cells(window: Window) -> str:
        whole = window.page_hits / window.page_requests if window.page_requests else 0.0
        return (
            f"{window.result.requests_per_second:,.0f} | {window.hit_ratio:.2%} ({whole:.1%}) "
            f"| {window.grids_computed} | {window.load:.1f}"
        )

    for row in rows:
        lines.append(
            f"| {row.layout} | {row.label} | {cells(row.quiet)} | {cells(row.busy)} "
            f"| {row.writes} | {row.writer_cores:.2f} "
            f"| {row.busy.result.requests_per_second / row.quiet.result.requests_per_second:.2f}x |"
        )
    lines += [
        "",
        "Goal (issue 12): hit ratio >= 95% and throughput >= 0.8x on the pages a write does not",
        "touch. Writes bump only the listing families their photo left or entered",
        '(docs/SCALING.md, "Cache invalidation"); the home page shows every new photo, so',
        "it is recomputed after each write there, once (the stampede lock), not per request,",
        "and its whole-page copy is dropped with it. The untouched pages' grids are computed",
        "again only when their 30 s freshness runs out.",
        "Cores `shared`: the writer runs on the same cores as gunicorn, wrk and PostgreSQL, so what",
        "a page whose hit ratio held loses under writes is CPU: the writer's own (`writer CPU`, in",
        "cores, its start and the renditions it makes included) and the PostgreSQL, Redis and",
        "SeaweedFS work its writes cause, not cache misses. Cores `split`: gunicorn pinned to one",
        "core and the writer and wrk to the other (`sched_setaffinity`; PostgreSQL and Redis on",
        "both), as in production, where renditions are made on worker hosts and the web tier has",
        "its own CPU: the ratio then shows what the writes cost the web tier itself. The turns",
        "alternate, so other work on this shared machine (`load`) falls on both columns alike.",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        write_section(args.write, "## Cache under writes", section)


if __name__ == "__main__":
    main()

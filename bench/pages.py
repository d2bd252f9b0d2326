"""Cold renders, the API and signed-in pages (issue 16), each beside a bare view of the same run.

    .venv/bin/python bench/pages.py [--seconds 8] [--write docs/PERFORMANCE.md]
    .venv/bin/python bench/pages.py --rows cold   # the bare views and the cold rows only (an A/B)
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

from bench.common import ROOT, WrkResult, bench_environment, gunicorn, machine_line, site_prepare, write_section, wrk

PHOTOS = 120
HEADING = "## Cold renders, the API and signed-in pages (issue 16)"
SIGNED_IN = "bench1"  # follows bench2 to bench9: a full first page of the feed
UNTHROTTLED = {"API_THROTTLE_ANON": "100000000/min", "API_THROTTLE_USER": "100000000/min"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--write", type=Path, help="replace this benchmark's section in a Markdown file")
    parser.add_argument("--profile", action="store_true", help="profile cold renders, signed-in pages and the API")
    parser.add_argument(
        "--rows",
        help="only the rows naming one of these comma-separated words, e.g. 'cold' (and the bare views)",
    )
    parser.add_argument("--setup-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rows and args.write:
        parser.error("--rows measures part of the table: it is not written")
    if args.setup_child:
        print(json.dumps(follows_and_session()))
        return
    if args.profile_child:
        profile_in_this_process(args.profile_child)
        return

    # Its own database and Redis databases: other benchmarks may run meanwhile.
    with bench_environment(redis_db=11, database="photosite_bench_pages") as bench:
        seeded = site_prepare(bench.env, photos=PHOTOS)
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
        wanted = [word.strip() for word in args.rows.split(",")] if args.rows else None
        rows = measure(bench.env, setup["cookie"], photo_path, api_detail, seconds=args.seconds, wanted=wanted)
    section = render_section(rows, seconds=args.seconds)
    print(section)
    if args.write:
        write_section(args.write, HEADING, section)


def run_child(env: dict[str, str], *command: str) -> str:
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


Row = tuple[str, str, WrkResult, float]  # (page, configuration, result, load average before it)


def measure(
    env: dict[str, str], cookie: str, photo_path: str, api_detail: str, *, seconds: int, wanted: list[str] | None = None
) -> list[Row]:
    """Every row, or (`wanted`) the bare views and the rows whose page or configuration names
    one of those words: an A/B of one change needs only its own rows, back to back."""
    rows: list[Row] = []

    def run(page: str, configuration: str, url: str, headers: dict[str, str] | None = None) -> None:
        ceiling = "bare" in page
        if wanted and not ceiling and not any(word in f"{page} {configuration}" for word in wanted):
            return
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
    return "\n".join(lines) + "\n" + NOTES


# What the profiles showed and what was changed: the same whatever run wrote the table above.
NOTES = """
API rows are against the bare JSON view, the others against the bare Django view. `errors`
counts non-2xx answers and wrk's socket errors and timeouts (2 s). On this shared 2-core box
the other sessions' test suites ran meanwhile: the load average above says how much, and a
busy machine squeezes the framework's rows less than the bare view's, so compare ratios
within one run only.

What the profiles showed (cProfile, `bench/pages.py --profile`; shares and call counts, since
the wall times under cProfile on a loaded box are not the pages' own):

- **Cold home** (20 renders): 1,605,478 function calls before, 861,144 after. Before, half was
  fetching: 441 model instances a page (48 photos, their 48 owners and 336 renditions, with
  the renditions' FileFields, datetimes and the prefetch machinery: 8,820 `Model.__init__`),
  and a third of each card was django-storages' `url()` for every rendition (6,720 calls).
  After, the fetch is 48 photos with their owners and one `values_list` of the renditions,
  and the cards join a prefix to each key; what is left is the two queries, the 96 model
  instances and 48 cards of string building, then the page shell.
- **Cold photo page**: half the card's query with three prefetches (renditions, tags,
  albums); the renditions are now rows read in one plain query, the tags and albums still
  prefetched. The other half is the page template itself.
- **Signed-in home, warm**: the page shell's template work was 43% (57 `{% translate %}`
  tags and 3 includes a page, 35 of the tags in the scripts' words block, the same on every
  page); two queries a third (the user row that `AuthenticationMiddleware` loads, and the
  "still processing" strip, whose 40-column SELECT took longer to compile than to run); and
  three Redis round trips (session, grid version, grid). Profiled again after 1 to 5
  below (200 requests: 2,478,764 function calls): the strip's query, which almost always
  found nothing, and the shell's 12 `{% url %}`, 20 `{% translate %}` and 5 `{% static %}`
  tags, the same for everyone in a language, could go; after 6 and 7 below, 1,507,413 calls
  and one query (the user row).
- **Following feed, warm**: it was not cached at all (a viewer's own listing), so every
  request ran the fan-in query and rendered 48 cards: a cold render each time. Kept (3
  below), 2,279,613 calls for 200 requests, then 1,610,804 with the shell's stretches kept (7).
- **API photo list**: the serializer of 48 photos, the JSON encoded twice (the ETag was a
  second, sorted `json.dumps`), and seven Redis round trips, four of them throttle counters
  (DRF's user throttle counts an anonymous request a second time, by the same address).
  **API photo detail**: DRF's `ModelSerializer` rebuilt the model's fields for every request
  (a sixth of it).

What changed:

1. Renditions are read as plain rows for listing pages and the photo page's card
   (`RenditionRow`, `renditions_of` in apps/photos/selectors.py); cards, the photo page, link
   previews and the API read either kind.
2. `photosite.storage.media_url` joins the public base and the key for plain public keys
   (the address django-storages would build, tested against it); other keys and every
   private one still go through the backend, so a private rendition is always signed.
3. The following feed's first page is kept per viewer (`Listing.cached_for`) under the
   versions of every public photo (`recent`), of every listing (renames, deactivations) and
   of the viewer's following count (each follow and unfollow, on commit).
4. The scripts' words block is rendered once per language and process (`{% js_strings %}`);
   the "still processing" strip selects the four columns it shows; a grid card's link
   reverses the photo path once per process.
5. API: the first page of a shared listing is kept encoded under the listing's version (as
   the grids are); its ETag is a digest of the bytes sent; `PhotoSerializer` builds its dict
   directly (tested equal to DRF's generic output); anonymous requests are counted once. For
   a visitor, the shared lists and a public photo are then kept whole by the page cache like
   the HTML pages, which also answers `If-None-Match` with a 304 from the kept page. No
   library was added: with the list encoded once per version, orjson would speed up only the
   misses.
6. The "still processing" strip asks for a person's unfinished uploads only when their user
   row (read for every signed-in request anyway) counts some: `unfinished_photo_count`, moved
   by the photo services in the transaction of each status change and repaired by
   `counts_reconcile`. A signed-in home page with nothing processing runs one query.
7. The shell's fixed stretches (`{% once %}`, apps/accounts/templatetags/shell_tags.py) are
   rendered once per language and process, per the values they name (the tab, signed in or
   not), in a context holding only those: the name, badge, CSRF token and search words stay
   rendered per request between them.

What still stands between the figures and the ceiling:

- Cold renders: the two queries' ORM work (compiling, 96 model instances) and the page
  shell. A values-only fetch for grids (no model instances at all) and a cheaper shell
  (Jinja2 for base.html, or a shell rendered once per language with the few per-request
  parts filled in) are the next steps; the photo page would also need its tags and albums
  read without the prefetch machinery.
- Signed-in pages: per request, the session (Redis), the user row (PostgreSQL), the grid's
  version and the grid (two more Redis round trips, which one MGET would make one), the
  page's own template and django-csp building its header (about 1% of the calls). The user row
  is not cached: a copy kept anywhere would have to drop at once, on every process, when the
  person is deactivated, demoted or changes their password (which must sign out their other
  sessions), and its counters (unread notifications, unfinished uploads) move by UPDATE
  without any save() to hook.
- API hits skip DRF's throttles, as the HTML pages' hits skip everything: the page cache
  answers before them.
"""


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

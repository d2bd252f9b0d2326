"""How page latency grows with the data: seed 1k, 100k (and 1M) photos, time the pages.

Seeds straight in SQL (generate_series: users, photos with tags and two rendition
rows each, follows, likes, search vectors), fills the counters and materializes
Popular as the scheduler would, then times each page in-process with Django's test
client, the cache off, so every request reaches PostgreSQL: home (recent), a tag
page, a busy profile, the following feed of someone who follows 50 people and of
someone who follows 5,000, a photo search, a people search, Popular and the API
photo list. Prints p50/p95 per page and size, the largest/smallest ratio, and
EXPLAIN ANALYZE of each listing's main query at the largest size (the search page's
photo search for the people-search word too), and each page's queries: how many, their
time, and the time outside them (Python, templates), so growth outside the listing query
shows where it is.

    .venv/bin/python bench/growth.py                 # 1k and 100k
    .venv/bin/python bench/growth.py --sizes 1000 100000 1000000
    .venv/bin/python bench/growth.py --sizes 1000 1000000 --keep    # seed (1M: ~30 min), keep
    .venv/bin/python bench/growth.py --sizes 1000 1000000 --reuse   # measure the kept ones again

Needs only this machine's PostgreSQL; uses (and drops) a database per size, photosite_growth_<size>.
`--keep` leaves them; `--reuse` measures a kept database again without seeding it (a
few minutes instead of half an hour at 1M), after migrating it to this checkout and
ranking Popular afresh; a size with no complete kept database is seeded as usual.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DB = "photosite_growth"  # one database per size: photosite_growth_1000, ...
REQUESTS_PER_PAGE = 40
# The sizes are measured in turns (a quarter of each page's requests per size, then the next
# size), so a load spike on this shared machine lands on every size alike.
ROUNDS = 4
FOLLOWS_OF_THE_FAN = 5000  # user3 follows this many people (the feed bounded per followee)
TAGS = 20  # tag7 holds a tenth of all photos: a full first page at every size
# Written on a database when its seeding finished (COMMENT ON DATABASE): --reuse measures
# only a database that carries it. Change the version whenever seed() seeds differently.
SEEDED = "photosite growth seed v1: {photos} photos"
VOCABULARY = "sunset harbour fog ridge meadow lighthouse dune forest river street portrait market snow bridge".split()


def database(photos: int) -> str:
    return f"{DB}_{photos}"


def environment(photos: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database(photos)}",
        "CACHE_ENABLED": "false",
        "DJANGO_SECRET_KEY": "benchmark-only",
        "LOG_LEVEL": "WARNING",
        "PHOTOSITE_VAR_DIR": "/tmp/photosite-growth-var",
        # Pages name their static files through collectstatic's manifest: the benchmark
        # collects its own copy (static_collect), whatever this checkout has collected.
        "STATIC_ROOT": "/tmp/photosite-growth-var/static",
    }


def static_collect() -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=environment(1000),  # any size's: collectstatic needs no database
        check=True,
    )


def seeded(photos: int) -> bool:
    """Whether a kept database holds a finished seeding of `photos` photos (SEEDED)."""
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres") as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [database(photos)]
        ).fetchone()
    return row is not None and row[0] == SEEDED.format(photos=photos)


def reuse(photos: int) -> None:
    """Make a kept database current: this checkout's migrations, and Popular ranked now
    (its ranking counts as fresh for two hours; older, the page would count every like)."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=environment(photos), check=True
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from apps.social.services import popular_refresh; popular_refresh()",
        ],
        cwd=ROOT,
        env={**environment(photos), "DJANGO_SETTINGS_MODULE": "photosite.settings"},
        check=True,
    )


def seed(photos: int) -> float:
    """A fresh database with `photos` photos; returns the seconds it took."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database(photos)} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database(photos)}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=environment(photos), check=True
    )
    # One poster per 10 photos (at least 50), so a followed person has about ten photos at
    # every size and the feeds show full pages; then enough people for user3 to follow 5,000.
    posters = max(photos // 10, 50)
    users = max(posters, FOLLOWS_OF_THE_FAN + 3)
    words = "ARRAY[" + ",".join(f"'{word}'" for word in VOCABULARY) + "]"
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database(photos)}", autocommit=True) as db:
        db.execute(
            f"""INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
                   is_staff, is_active, date_joined, display_name, bio, avatar_key, follower_count, following_count)
               SELECT '!', false, 'user' || n, '', '', '', false, true, now(), 'Person ' || n, '', '', 0, 0
               FROM generate_series(1, {users}) n"""
        )
        # Owners are skewed like real sites: user1 owns a large share (a "busy profile").
        db.execute(
            f"""INSERT INTO photos_photo (owner_id, key, title, caption, alt_text, visibility, original,
                   original_format, original_sha256, original_bytes, original_width, original_height,
                   camera_facts, show_camera_facts, status, failure_reason, placeholder_color,
                   like_count, comment_count, created_at, updated_at, hidden_reason)
               SELECT CASE WHEN n % 20 = 0 THEN 1 ELSE 1 + (n::bigint * 7919) % {posters} END,
                   md5(n::text)::uuid,
                   ({words})[1 + n % 14] || ' ' || n,
                   'A photo of the ' || ({words})[1 + (n / 14) % 14] || ' at dawn',
                   '', CASE WHEN n % 20 = 1 THEN 'private' WHEN n % 20 = 2 THEN 'unlisted' ELSE 'public' END,
                   'private/originals/' || n || '.jpg', 'JPEG', '', 100000, 1600, 1200,
                   '{{}}', true, 'ready', '', '#888888', 0, 0,
                   now() - (n || ' minutes')::interval, now(), ''
               FROM generate_series(1, {photos}) n"""
        )
        db.execute(f"INSERT INTO photos_tag (name) SELECT 'tag' || n FROM generate_series(1, {TAGS}) n")
        db.execute(
            f"""INSERT INTO photos_photo_tags (photo_id, tag_id, photo_created_at)
                SELECT id, 1 + id % {TAGS}, created_at FROM photos_photo
                UNION ALL
                SELECT id, 1 + (id * 31 + 7) % {TAGS}, created_at FROM photos_photo
                WHERE (id * 31 + 7) % {TAGS} <> id % {TAGS}"""
        )
        db.execute(
            """INSERT INTO photos_rendition (photo_id, size, format, file, width, height, bytes, created_at)
               SELECT id, 640, f, 'public/renditions/' || id || '-640.' || f, 640, 480, 50000, now()
               FROM photos_photo, unnest(ARRAY['jpg', 'webp']) f"""
        )
        # Every poster follows 50 other posters; user2 is the feed reader.
        db.execute(
            f"""INSERT INTO social_follow (follower_id, followee_id, created_at)
               SELECT DISTINCT u, 1 + (u::bigint * 13 + k * 101) % {posters}, now()
               FROM generate_series(1, {posters}) u, generate_series(1, 50) k
               WHERE 1 + (u::bigint * 13 + k * 101) % {posters} <> u"""
        )
        # user3 follows 5,000 people besides.
        db.execute(
            f"""INSERT INTO social_follow (follower_id, followee_id, created_at)
               SELECT 3, n, now() FROM generate_series(4, {FOLLOWS_OF_THE_FAN + 3}) n
               ON CONFLICT DO NOTHING"""
        )
        # Two likes per photo on average, spread over the last 14 days.
        db.execute(
            f"""INSERT INTO social_like (user_id, photo_id, created_at)
               SELECT DISTINCT ON (u, p) u, p, now() - ((p % 14) || ' days')::interval
               FROM (SELECT 1 + (n::bigint * 104729) % {users} u, 1 + (n::bigint * 15485863) % {photos} p
                     FROM generate_series(1, {photos * 2}) n) l"""
        )
        db.execute(
            """UPDATE photos_photo p SET like_count = c.n
               FROM (SELECT photo_id, count(*) n FROM social_like GROUP BY photo_id) c WHERE c.photo_id = p.id"""
        )
        db.execute("VACUUM ANALYZE")
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from apps.photos.services import photo_search_index_update as u; u();"
            # What the services keep as things happen, and the scheduler's Popular ranking.
            "from django.core.management import call_command; call_command('counts_reconcile');"
            "from apps.social.services import popular_refresh; popular_refresh()",
        ],
        cwd=ROOT,
        env={**environment(photos), "DJANGO_SETTINGS_MODULE": "photosite.settings"},
        check=True,
    )
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database(photos)}", autocommit=True) as db:
        # Every table, as autovacuum would: counts_reconcile rewrote every person's row, and the
        # new index entries wait in the trigram indexes' pending lists until a vacuum (there,
        # people search read all of them, then chose to scan every person instead).
        db.execute("VACUUM ANALYZE")
        db.execute(f"COMMENT ON DATABASE {database(photos)} IS '{SEEDED.format(photos=photos)}'")
    return time.monotonic() - started


PEOPLE_WORD = "ser123"  # in user names (user123, user1230, ...), in no photo's words
PAGES = {
    # No database: how fast this process answers at all while it is measured. The machine
    # is shared, so read each page's ratio beside this one's (noise, not growth).
    "healthz (calibration)": "/healthz",
    "home": "/",
    "tag": "/tags/tag7/",
    "profile": "/accounts/people/user1/",
    "feed": "/following/",
    "feed, 5,000 follows": "/following/",
    "search": "/search/?q=lighthouse",
    "people search": f"/search/?q={PEOPLE_WORD}",
    "popular": "/explore/",
    "API photo list": "/api/v1/photos/",
}
READERS = {"feed, 5,000 follows": "user3"}  # everyone else reads as user2 (50 follows)


def measure(requests: int) -> dict[str, object]:
    """Run inside Django (a subprocess with environment()): time each page `requests` times
    (the samples, in ms), with each request's queries (ms each, in order, and what the
    first of each kind was), and EXPLAIN its listing."""
    sys.path.insert(0, str(ROOT))  # this checkout's code, whatever the virtualenv points at
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import User  # after django.setup() above, with this run's settings
    from apps.accounts.selectors import people_matching
    from apps.photos import selectors

    reader = User.objects.get(username="user2")
    clients = {}
    for username in {"user2", *READERS.values()}:
        clients[username] = Client(HTTP_HOST="127.0.0.1")
        clients[username].force_login(User.objects.get(username=username))
    query_times: list[float] = []
    query_texts: list[str] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        # perf_counter around each query: Django's own log rounds to whole milliseconds.
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            query_times.append((time.perf_counter() - started) * 1000)
            query_texts.append(" ".join(sql.split())[:90])

    timings: dict[str, list[float]] = {}
    queries: dict[str, list[list[float]]] = {}
    texts: dict[str, list[str]] = {}
    for name, url in PAGES.items():
        client = clients[READERS.get(name, "user2")]
        assert client.get(url).status_code == 200, url  # warm the process, not a cache (there is none)
        samples, per_request = [], []
        for _ in range(requests):
            query_times.clear()
            query_texts.clear()
            with connection.execute_wrapper(timed):
                started = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            per_request.append(list(query_times))
        timings[name] = samples
        queries[name] = per_request
        texts[name] = list(query_texts)
    owner = User.objects.get(username="user1")
    listings = {
        "home": selectors.listing_recent(),
        "tag": selectors.listing_tag(name="tag7"),
        "profile": selectors.listing_user(owner=owner, viewer=reader),
        "feed": selectors.listing_feed(viewer=reader),
        "feed, 5,000 follows": selectors.listing_feed(viewer=User.objects.get(username="user3")),
        # As the pages run them: signed in (a search also finds the reader's own photos).
        "search": selectors.listing_search(query="lighthouse", viewer=reader),
        "people search (its photo search)": selectors.listing_search(query=PEOPLE_WORD, viewer=reader),
        "popular": selectors.listing_popular(),
    }
    plans = {}
    with CaptureQueriesContext(connection) as people_queries:
        people_matching(query=PEOPLE_WORD)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {people_queries.captured_queries[-1]['sql']}")
        plans["people search (the people)"] = "\n".join(row[0] for row in cursor.fetchall())
    for name, listing in listings.items():
        queryset = listing.page_queryset(None, 49) if listing.page_queryset else listing.queryset
        query = queryset.order_by(*listing.ordering)[:49]
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    return {"timings": timings, "queries": queries, "texts": texts, "plans": plans}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB}_<size> databases afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure a kept, completely seeded database as it is (seed the sizes that have none); implies --keep",
    )
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    args.keep = args.keep or args.reuse
    for size in args.sizes:
        if args.reuse and seeded(size):
            reuse(size)
            print(f"reusing {database(size)} (migrated, Popular ranked now)", flush=True)
        else:
            seconds = seed(size)
            print(f"seeded {size:,} photos in {seconds:.0f} s", flush=True)
    static_collect()
    samples: dict[int, dict[str, list[float]]] = {size: {page: [] for page in PAGES} for size in args.sizes}
    queries: dict[int, dict[str, list[list[float]]]] = {size: {page: [] for page in PAGES} for size in args.sizes}
    texts: dict[int, dict[str, list[str]]] = {size: {} for size in args.sizes}
    plans: dict[str, str] = {}
    for _ in range(ROUNDS):
        for size in args.sizes:
            output = subprocess.run(
                [sys.executable, __file__, "--measure", str(REQUESTS_PER_PAGE // ROUNDS)],
                cwd=ROOT,
                env={**environment(size), "DJANGO_SETTINGS_MODULE": "photosite.settings"},
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(output.strip().splitlines()[-1])
            for page, timings in result["timings"].items():
                samples[size][page] += timings
                queries[size][page] += result["queries"][page]
                texts[size][page] = result["texts"][page]
            if size == max(args.sizes):
                plans = result["plans"]
    if not args.keep:
        # A multi-GB database left in the cluster slows every later pg_basebackup
        # (the test suite's replica copies the whole cluster).
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
            for size in args.sizes:
                admin.execute(f"DROP DATABASE IF EXISTS {database(size)} WITH (FORCE)")

    def percentiles(values: list[float]) -> tuple[float, float]:
        ordered = sorted(values)
        return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]

    for size in args.sizes:
        print(f"\n{size:,} photos:")
        for page in PAGES:
            p50, p95 = percentiles(samples[size][page])
            print(f"  {page:20} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms", flush=True)
    smallest, largest = min(args.sizes), max(args.sizes)
    print(f"\nratio {largest:,} / {smallest:,} photos (p50, p95):")
    for page in PAGES:
        (small_p50, small_p95), (large_p50, large_p95) = (
            percentiles(samples[smallest][page]),
            percentiles(samples[largest][page]),
        )
        print(f"  {page:20} {large_p50 / small_p50:5.2f}x  {large_p95 / small_p95:5.2f}x")
    print("\nwhere each page's time goes, p50 ms (queries: how many, their time; the rest: Python and templates):")
    for page in PAGES:
        print(f"  {page}")
        for size in (smallest, largest):
            per_request = queries[size][page]
            total = statistics.median(samples[size][page])
            in_queries = statistics.median(sum(request) for request in per_request)
            counts = {len(request) for request in per_request}
            print(
                f"    {size:>9,}: {total:6.1f} total, {'/'.join(map(str, sorted(counts)))} queries {in_queries:6.1f},"
                f" rest {total - in_queries:6.1f}"
            )
        # Query by query where the count is the same at both sizes (it is, for every page today).
        small, large = queries[smallest][page], queries[largest][page]
        if {len(request) for request in small + large} == {len(texts[largest][page])}:
            for position, text in enumerate(texts[largest][page]):
                small_ms = statistics.median(request[position] for request in small)
                large_ms = statistics.median(request[position] for request in large)
                print(f"      {small_ms:6.2f} {large_ms:6.2f}  {text}")
    print(f"\nEXPLAIN ANALYZE at {largest:,} photos:")
    for page, plan in plans.items():
        print(f"\n--- {page}\n{plan}")


if __name__ == "__main__":
    main()

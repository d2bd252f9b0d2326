"""The two steps of the plan past one primary that can be measured on one box.

    .venv/bin/python bench/sharding.py [--likes 2000000] [--photos 1000000] [--write docs/SCALING.md]

On a scratch PostgreSQL database (dropped afterwards), side by side:

1. Likes partitioned by week (native range partitioning) against one table:
   Popular's "most liked in the last 7 days" query, and dropping a week of old
   likes (DROP of a partition against DELETE of the same rows).
2. A precomputed timeline (fan-out on write, one row per follower) against the
   fan-in read the site does today, for a person who follows 5,000 people: the
   read, and the write cost of fanning one upload out to its author's followers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository root

from bench.common import machine_line, write_section

DATABASE = "photosite_bench_sharding"
WEEKS = 13


def timed(run: Callable[[], object], repeat: int = 15) -> float:
    """Median milliseconds of `run` over `repeat` calls, after one warm-up."""
    run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def setup_likes(db: psycopg.Connection, likes: int, photos: int) -> None:
    db.execute("CREATE TABLE likes_flat (photo_id bigint, user_id bigint, created_at timestamptz NOT NULL)")
    db.execute(
        "CREATE TABLE likes_weekly (photo_id bigint, user_id bigint, created_at timestamptz NOT NULL)"
        " PARTITION BY RANGE (created_at)"
    )
    for week in range(WEEKS + 1):
        db.execute(
            f"CREATE TABLE likes_weekly_{week} PARTITION OF likes_weekly FOR VALUES FROM "
            f"(date_trunc('week', now()) - interval '{week} weeks') "
            f"TO (date_trunc('week', now()) - interval '{week - 1} weeks')"
        )
    # Likes over 13 whole weeks and this one so far; a few photos get most of them, as on a real site.
    db.execute(
        "INSERT INTO likes_flat SELECT (power(random(), 3) * %s)::bigint, (random() * 1e6)::bigint,"
        " oldest + random() * (now() - oldest) FROM generate_series(1, %s),"
        " (SELECT date_trunc('week', now()) - interval '13 weeks' AS oldest) AS start",
        [photos, likes],
    )
    db.execute("INSERT INTO likes_weekly SELECT * FROM likes_flat")
    for table in ("likes_flat", "likes_weekly"):
        db.execute(f"CREATE INDEX ON {table} (created_at, photo_id)")
        db.execute(f"ANALYZE {table}")


def popular(db: psycopg.Connection, table: str) -> Callable[[], object]:
    query = (
        f"SELECT photo_id, count(*) FROM {table} WHERE created_at >= now() - interval '7 days'"
        " GROUP BY photo_id ORDER BY count(*) DESC LIMIT 48"
    )
    return lambda: db.execute(query).fetchall()


def drop_old_week(db: psycopg.Connection) -> tuple[float, float, int]:
    """Milliseconds to remove the oldest week: DELETE from one table, DROP of its partition."""
    boundary = "date_trunc('week', now()) - interval '12 weeks'"
    rows = db.execute(f"SELECT count(*) FROM likes_flat WHERE created_at < {boundary}").fetchone()
    started = time.perf_counter()
    db.execute(f"DELETE FROM likes_flat WHERE created_at < {boundary}")
    delete_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    db.execute(f"ALTER TABLE likes_weekly DETACH PARTITION likes_weekly_{WEEKS}")
    db.execute(f"DROP TABLE likes_weekly_{WEEKS}")
    drop_ms = (time.perf_counter() - started) * 1000
    return delete_ms, drop_ms, int(rows[0]) if rows else 0


def setup_feed(db: psycopg.Connection, photos: int, follows: int, followers_of_author: int) -> None:
    owners = photos // 20  # 20 photos per person on average
    db.execute("CREATE TABLE photos (id bigint PRIMARY KEY, owner_id bigint, created_at timestamptz NOT NULL)")
    db.execute(
        "INSERT INTO photos SELECT i, (random() * %s)::bigint, now() - random() * interval '365 days'"
        " FROM generate_series(1, %s) i",
        [owners, photos],
    )
    db.execute("CREATE INDEX ON photos (owner_id, created_at DESC, id DESC)")
    db.execute("CREATE TABLE follows (follower_id bigint, followee_id bigint, PRIMARY KEY (follower_id, followee_id))")
    db.execute("INSERT INTO follows SELECT 1, f FROM generate_series(1, %s) f ON CONFLICT DO NOTHING", [follows])
    # The author whose upload is fanned out, with many followers.
    db.execute(
        "INSERT INTO follows SELECT f, 0 FROM generate_series(2, %s) f ON CONFLICT DO NOTHING",
        [followers_of_author + 1],
    )
    db.execute(
        "CREATE TABLE timeline (user_id bigint, created_at timestamptz, photo_id bigint,"
        " PRIMARY KEY (user_id, created_at, photo_id))"
    )
    # The follower's timeline as fan-out on write would have built it: the newest 1,000 entries.
    db.execute(
        "INSERT INTO timeline SELECT 1, p.created_at, p.id FROM photos p"
        " JOIN follows f ON f.followee_id = p.owner_id AND f.follower_id = 1"
        " ORDER BY p.created_at DESC LIMIT 1000"
    )
    for table in ("photos", "follows", "timeline"):
        db.execute(f"ANALYZE {table}")


def feed_fan_in(db: psycopg.Connection) -> Callable[[], object]:
    query = (
        "SELECT p.id FROM photos p WHERE p.owner_id IN (SELECT followee_id FROM follows WHERE follower_id = 1)"
        " ORDER BY p.created_at DESC, p.id DESC LIMIT 48"
    )
    return lambda: db.execute(query).fetchall()


def feed_fan_in_lateral(db: psycopg.Connection) -> Callable[[], object]:
    query = (
        "SELECT recent.id FROM follows f CROSS JOIN LATERAL ("
        " SELECT p.id, p.created_at FROM photos p WHERE p.owner_id = f.followee_id"
        " ORDER BY p.created_at DESC, p.id DESC LIMIT 48) recent"
        " WHERE f.follower_id = 1 ORDER BY recent.created_at DESC, recent.id DESC LIMIT 48"
    )
    return lambda: db.execute(query).fetchall()


def feed_timeline(db: psycopg.Connection) -> Callable[[], object]:
    query = "SELECT photo_id FROM timeline WHERE user_id = 1 ORDER BY created_at DESC, photo_id DESC LIMIT 48"
    return lambda: db.execute(query).fetchall()


def fan_out_one_upload(db: psycopg.Connection) -> tuple[float, int]:
    started = time.perf_counter()
    with db.transaction():
        inserted = db.execute(
            "INSERT INTO timeline SELECT follower_id, now(), 99999999 FROM follows WHERE followee_id = 0"
        ).rowcount
    return (time.perf_counter() - started) * 1000, inserted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--likes", type=int, default=2_000_000)
    parser.add_argument("--photos", type=int, default=1_000_000)
    parser.add_argument("--follows", type=int, default=5_000)
    parser.add_argument("--followers", type=int, default=100_000, help="followers of the author fanned out to")
    parser.add_argument("--write", type=Path, help="replace this benchmark's section in a Markdown file")
    args = parser.parse_args()

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    try:
        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DATABASE}", autocommit=True) as db:
            db.execute("SET max_parallel_workers_per_gather = 0")  # one core per query, as on a busy server
            setup_likes(db, args.likes, args.photos)
            popular_flat = timed(popular(db, "likes_flat"))
            popular_weekly = timed(popular(db, "likes_weekly"))
            delete_ms, drop_ms, old_rows = drop_old_week(db)
            setup_feed(db, args.photos, args.follows, args.followers)
            fan_in = timed(feed_fan_in(db))
            lateral = timed(feed_fan_in_lateral(db))
            timeline = timed(feed_timeline(db))
            fan_out_ms, fanned = fan_out_one_upload(db)
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")

    command = (
        f".venv/bin/python bench/sharding.py --likes {args.likes} --photos {args.photos} "
        f"--follows {args.follows} --followers {args.followers} --write docs/SCALING.md"
    )
    lines = [
        "### Measured here: partitioned likes and a precomputed timeline",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine_line()}; PostgreSQL 15, one core per query (no parallel workers), median of 15 runs "
        "after a warm-up. The box was shared with other work: read the ratios, not the milliseconds.",
        "",
        "| what | one table / today | the plan's step | ratio |",
        "|---|---:|---:|---:|",
        f"| Popular: most liked in the last 7 days, {args.likes:,} likes over {WEEKS} weeks | "
        f"{popular_flat:.1f} ms (one table) | {popular_weekly:.1f} ms (weekly partitions) "
        f"| {popular_flat / popular_weekly:.2f}x |",
        f"| Forget the oldest week ({old_rows:,} likes) | {delete_ms:,.0f} ms (DELETE, then vacuum) "
        f"| {drop_ms:.1f} ms (DROP partition) | {delete_ms / max(drop_ms, 0.01):,.0f}x |",
        f"| Following feed, {args.follows:,} follows, {args.photos:,} photos | {fan_in:.1f} ms (fan-in) / "
        f"{lateral:.1f} ms (fan-in, LATERAL per followee) | {timeline:.2f} ms (timeline table) "
        f"| {fan_in / timeline:,.0f}x / {lateral / timeline:,.0f}x |",
        f"| One upload fanned out to {fanned:,} followers | - | {fan_out_ms:,.0f} ms (one INSERT ... SELECT) | - |",
        "",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        write_section(args.write, "### Measured here: partitioned likes", section)


if __name__ == "__main__":
    main()

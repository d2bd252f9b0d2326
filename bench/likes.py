"""Like contention: 200 concurrent likers on one photo, likes/s and p99.

Two parts, side by side in one run:

1. `strategies`: the like transaction in plain SQL on a migrated database, once per way
   of keeping the count: the old `UPDATE photos_photo SET like_count = like_count ± 1`
   on the wide photo row, one narrow counter row, 16 sharded counter rows, and no
   counter at all (only the like row: the ceiling for any counter kept elsewhere, such
   as Redis increments flushed later). This is the measurement the design was chosen by.
2. `site`: the real like endpoint (`POST /api/v1/photos/<id>/like/`, token auth) under
   gunicorn, for the code at `--before` (a git revision, checked out into a temporary
   worktree) and for this working tree, each on its own fresh database.

Each liker likes and unlikes the one photo in a loop; every request is timed.

    .venv/bin/python bench/likes.py --seconds 10 --before dd7278d --write docs/PERFORMANCE.md

Needs this machine's PostgreSQL and Redis; uses (and drops) the database photosite_likes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # imported where used at run time: psycopg only for the runs that need it
    import http.client

    import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository root

from bench.common import ROOT, machine_line
from compose.local.services.net import free_port, wait_until_healthy

DB = "photosite_likes"
LIKERS = 200
CONNECTIONS = 40  # the SQL part: PostgreSQL's default max_connections is 100, shared with others
SHARDS = 16

Handle = TypeVar("Handle")  # one liker thread's connection: psycopg's, or an HTTP keep-alive one


def fresh_database(cwd: Path, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=cwd, env=env, check=True)


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
        "REDIS_URL": "redis://127.0.0.1:6379/11",
        "BROKER_URL": "redis://127.0.0.1:6379/10",
        "DJANGO_SECRET_KEY": "benchmark-only",
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_USER": "1000000/min",
        "API_THROTTLE_ANON": "1000000/min",
        "PHOTOSITE_VAR_DIR": tempfile.mkdtemp(prefix="photosite-likes-var-"),
    }


def summary(samples: list[float], seconds: float) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "per_second": len(samples) / seconds,
        "p50": statistics.median(samples) if samples else 0.0,
        "p99": samples[max(int(len(samples) * 0.99) - 1, 0)] if samples else 0.0,
        "count": len(samples),
    }


def run_likers(
    act: Callable[[int, bool, Handle], None], connect: Callable[[], Handle], *, seconds: float
) -> dict[str, float]:
    """LIKERS likers, CONNECTIONS at a time, each liking then unliking in a loop until time is up."""
    samples: list[float] = []
    guard = threading.Lock()
    stop_at = time.monotonic() + seconds
    queue = list(range(1, LIKERS + 1))
    random.shuffle(queue)

    def thread(likers: list[int]) -> None:
        handle = connect()
        liked = dict.fromkeys(likers, False)
        mine: list[float] = []
        while time.monotonic() < stop_at:
            for liker in likers:
                started = time.perf_counter()
                act(liker, not liked[liker], handle)
                mine.append((time.perf_counter() - started) * 1000)
                liked[liker] = not liked[liker]
        with guard:
            samples.extend(mine)

    started = time.monotonic()
    threads = [
        threading.Thread(target=thread, args=(queue[index::CONNECTIONS],), daemon=True) for index in range(CONNECTIONS)
    ]
    for item in threads:
        item.start()
    for item in threads:
        item.join()
    return summary(samples, time.monotonic() - started)


# --- Part 1: the strategies in SQL -------------------------------------------------------

STRATEGIES = {
    "photo row (before)": "UPDATE photos_photo SET like_count = like_count + %(delta)s WHERE id = %(photo)s",
    "one counter row": """INSERT INTO bench_counter (object_id, shard, value) VALUES (%(photo)s, 0, %(delta)s)
        ON CONFLICT (object_id, shard) DO UPDATE SET value = bench_counter.value + EXCLUDED.value""",
    f"{SHARDS} sharded counter rows": """INSERT INTO bench_counter (object_id, shard, value)
        VALUES (%(photo)s, %(shard)s, %(delta)s)
        ON CONFLICT (object_id, shard) DO UPDATE SET value = bench_counter.value + EXCLUDED.value""",
    "like row only (ceiling)": "",
}


def strategies(seconds: float) -> dict[str, dict[str, float]]:
    import psycopg

    env = environment()
    fresh_database(ROOT, env)
    dsn = f"host=127.0.0.1 user=postgres dbname={DB}"
    with psycopg.connect(dsn, autocommit=True) as db:
        seed_sql(db)
        db.execute(
            "CREATE TABLE bench_counter (object_id bigint, shard smallint, value bigint,"
            " PRIMARY KEY (object_id, shard))"
        )
    results = {}
    for name, counter_sql in STRATEGIES.items():
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute("DELETE FROM social_like")
            db.execute("TRUNCATE bench_counter")
            db.execute("VACUUM ANALYZE")

        def act(liker: int, like: bool, connection: psycopg.Connection[Any], counter_sql: str = counter_sql) -> None:
            with connection.transaction():
                if like:
                    changed = connection.execute(
                        "INSERT INTO social_like (user_id, photo_id, created_at) VALUES (%s, 1, now()) "
                        "ON CONFLICT DO NOTHING",
                        [liker],
                    ).rowcount
                else:
                    changed = -connection.execute(
                        "DELETE FROM social_like WHERE user_id = %s AND photo_id = 1", [liker]
                    ).rowcount
                if changed and counter_sql:
                    connection.execute(counter_sql, {"photo": 1, "delta": changed, "shard": random.randrange(SHARDS)})

        results[name] = run_likers(act, lambda: psycopg.connect(dsn, autocommit=True), seconds=seconds)
        print(f"  {name:28} {results[name]['per_second']:7.0f} likes/s  p99 {results[name]['p99']:6.1f} ms", flush=True)
    return results


def seed_sql(db: psycopg.Connection[Any]) -> None:
    """LIKERS people and one public, ready photo of person 1 (ids 1..LIKERS, photo 1)."""
    db.execute(
        f"""INSERT INTO accounts_user (id, password, is_superuser, username, first_name, last_name, email,
               is_staff, is_active, date_joined, display_name, bio, avatar_key, follower_count, following_count)
           SELECT n, '!', false, 'liker' || n, '', '', '', false, true, now(), '', '', '', 0, 0
           FROM generate_series(1, {LIKERS}) n"""
    )
    db.execute("SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %s)", [LIKERS])
    db.execute(
        """INSERT INTO photos_photo (id, owner_id, key, title, caption, alt_text, visibility, original,
               original_format, original_sha256, original_bytes, original_width, original_height,
               camera_facts, show_camera_facts, status, failure_reason, placeholder_color,
               like_count, comment_count, created_at, updated_at, hidden_reason)
           VALUES (1, 1, md5('1')::uuid, 'The viral one', repeat('A long caption. ', 100), '', 'public',
               'private/originals/1.jpg', 'JPEG', '', 100000, 1600, 1200, '{}', true, 'ready', '', '#888888',
               0, 0, now(), now(), '')"""
    )


# --- Part 2: the site, before and after ------------------------------------------------


def site(cwd: Path, seconds: float) -> dict[str, float]:
    """The like endpoint of the code in `cwd`, under gunicorn, 200 likers over HTTP keep-alive."""
    import http.client

    import psycopg

    env = environment()
    fresh_database(cwd, env)
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}", autocommit=True) as db:
        seed_sql(db)
    tokens = subprocess.run(
        [sys.executable, "-c", TOKENS_SCRIPT, str(LIKERS)],
        cwd=cwd,
        env={**env, "DJANGO_SETTINGS_MODULE": "photosite.settings"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    with gunicorn_in(cwd, {**env, "PYTHONPATH": str(cwd)}) as url:
        host, port = url.removeprefix("http://").split(":")
        urllib.request.urlopen(url + "/api/v1/photos/1/", timeout=10).read()

        def act(liker: int, like: bool, connection: http.client.HTTPConnection) -> None:
            connection.request(
                "POST" if like else "DELETE",
                "/api/v1/photos/1/like/",
                headers={"Authorization": f"Token {tokens[liker - 1]}"},
            )
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, body[:300]

        global CONNECTIONS
        saved, CONNECTIONS = CONNECTIONS, LIKERS  # over HTTP every liker has its own connection
        try:
            result = run_likers(act, lambda: http.client.HTTPConnection(host, int(port), timeout=60), seconds=seconds)
        finally:
            CONNECTIONS = saved
        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}", autocommit=True) as db:
            rows = db.execute("SELECT count(*) FROM social_like WHERE photo_id = 1").fetchone()
        result["like_rows"] = rows[0] if rows else 0
        result["count_shown"] = json.loads(urllib.request.urlopen(url + "/api/v1/photos/1/", timeout=10).read())[
            "like_count"
        ]
    return result


# Token keys for every liker, made by the code under test (its token model may differ).
TOKENS_SCRIPT = """
import sys, django
django.setup()
from apps.accounts.models import User
try:
    from apps.accounts.services import api_token_create
    from apps.accounts.models import TokenScope
    keys = [api_token_create(user=u, name="bench", scope=TokenScope.WRITE)[1] for u in User.objects.order_by("pk")]
except ImportError:
    from rest_framework.authtoken.models import Token
    keys = [Token.objects.get_or_create(user=u)[0].key for u in User.objects.order_by("pk")]
print(" ".join(keys))
"""


@contextlib.contextmanager
def gunicorn_in(cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """gunicorn (4 workers x 8 threads) serving the code in `cwd` (bench.common's serves this tree)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "photosite/gunicorn.conf.py",
            "--workers",
            "4",
            "--threads",
            "8",
            "--access-logfile",
            "/dev/null",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url + "/healthz", process=process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def worktree(revision: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="photosite-before-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), revision], cwd=ROOT, check=True, capture_output=True
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--before", help="git revision to compare the site with (omit: strategies only)")
    parser.add_argument("--write", type=Path, help="replace this benchmark's section in a Markdown file")
    args = parser.parse_args()

    print(f"strategies in SQL: {LIKERS} likers on {CONNECTIONS} connections, {args.seconds:.0f} s each", flush=True)
    sql_results = strategies(args.seconds)
    site_results: dict[str, dict[str, float]] = {}
    if args.before:
        before = worktree(args.before)
        try:
            for label, cwd in ((f"before ({args.before})", before), ("after (this tree)", ROOT)):
                site_results[label] = site(cwd, args.seconds)
                result = site_results[label]
                print(
                    f"  {label:28} {result['per_second']:7.0f} likes/s  p50 {result['p50']:6.1f} ms  "
                    f"p99 {result['p99']:6.1f} ms  rows {result['like_rows']} shown {result['count_shown']}",
                    flush=True,
                )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False)
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    if args.write:
        write_section(args, sql_results, site_results)


def write_section(
    args: argparse.Namespace, sql_results: dict[str, dict[str, float]], site_results: dict[str, dict[str, float]]
) -> None:
    base = sql_results["photo row (before)"]["per_second"]
    command = f".venv/bin/python bench/likes.py --seconds {args.seconds:g}" + (
        f" --before {args.before}" if args.before else ""
    )
    lines = [
        "## Likes: 200 concurrent likers on one photo",
        "",
        f"Command: `{command} --write docs/PERFORMANCE.md`  ",
        f"Machine: {machine_line()}. Each liker likes and unlikes the same photo in a loop "
        f"for {args.seconds:g} s; every like and unlike is one sample.",
        "",
        f"The like transaction in SQL, {LIKERS} likers on {CONNECTIONS} connections (how the count is kept):",
        "",
        "| counter | likes/s | p50 ms | p99 ms | vs photo row |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, result in sql_results.items():
        lines.append(
            f"| {name} | {result['per_second']:,.0f} | {result['p50']:.1f} | {result['p99']:.1f} "
            f"| {result['per_second'] / base:.2f}x |"
        )
    if site_results:
        lines += [
            "",
            f"The site: `POST`/`DELETE /api/v1/photos/1/like/` under gunicorn (4 workers x 8 threads), "
            f"{LIKERS} clients with their own tokens and keep-alive connections:",
            "",
            "| code | likes/s | p50 ms | p99 ms | like rows at the end | count the API shows |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for label, result in site_results.items():
            lines.append(
                f"| {label} | {result['per_second']:,.0f} | {result['p50']:.1f} | {result['p99']:.1f} "
                f"| {result['like_rows']} | {result['count_shown']} |"
            )
    lines += [
        "",
        "What the numbers say: on the photo row, each like holds the row's lock from its update to",
        "its commit's WAL flush, so the likers of one photo queue one behind another; one narrow",
        "counter row queues the same way. Sixteen shards spread the queue and come close to the",
        "like row alone, which is the floor for any counter kept elsewhere (Redis increments",
        "flushed later would still write the like row): so sharded rows, with no second source",
        'of truth to lose (docs/SCALING.md, "Counters"). Through the whole site on two cores,',
        "Python (token check, the photo's visibility, the response) runs out before the lock",
        "does, so the gain is smaller there; the after code also keeps the photo's card cached,",
        "where every like used to forget it. Both count exactly the like rows left at the end.",
    ]
    section = "\n".join(lines) + "\n"
    text = args.write.read_text()
    start = text.find("## Likes: 200 concurrent likers")
    if start == -1:
        marker = text.find("## Load on the whole stack")
        text = text[:marker] + section + "\n" + text[marker:] if marker != -1 else text + "\n" + section
    else:
        end = text.find("\n## ", start + 3)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    args.write.write_text(text)


if __name__ == "__main__":
    main()

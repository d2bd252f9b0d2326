"""Peak memory of `storage_sweep` as the bucket grows: the streaming sweep against the
whole-bucket sets it replaced.

    .venv/bin/python bench/sweep_memory.py [--objects 10000 100000] [--write docs/PERFORMANCE.md]

PostgreSQL and a throwaway SeaweedFS (bench.common). Seeding is cumulative and cheap: one
photo row per ten objects (its original and nine renditions, named as the services name
them), tiny bodies written by 32 threads, plus 1% orphans; each size adds to the last.
Each sweep runs in a fresh child process while a thread samples its resident set size
(VmRSS) every 20 ms; the figure that matters is the peak during the sweep minus the
size just before it, and whether it grows with the object count.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository root

from bench import common
from bench.common import ROOT, bench_environment, machine_line, manage, write_section

OBJECTS_PER_PHOTO = 10
ORPHAN_SHARE = 100  # one orphan per this many objects


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosite.settings")
    django.setup()


def seed(objects: int) -> None:
    """Add photos (with their objects) and orphans until the bucket holds about `objects`."""
    _django()
    from concurrent.futures import ThreadPoolExecutor

    from django.core.files.storage import default_storage

    # Our code only after django.setup(): models need the app registry ready.
    from apps.accounts.models import User
    from apps.photos.models import Photo, PhotoStatus, Rendition
    from photosite.storage import object_list

    client = default_storage.connection.meta.client  # type: ignore[attr-defined]  # S3Storage's; Storage has none
    bucket = default_storage.bucket_name  # type: ignore[attr-defined]  # S3Storage's; Storage has none
    have = sum(1 for _ in object_list(""))
    photos_wanted = (objects - have) * ORPHAN_SHARE // (ORPHAN_SHARE + 1) // OBJECTS_PER_PHOTO
    owner, _ = User.objects.get_or_create(username="sweeper")
    sizes = [(320, "jpg"), (320, "webp"), (320, "avif"), (640, "jpg"), (640, "webp"), (640, "avif")]
    sizes += [(1280, "jpg"), (1280, "webp"), (2048, "jpg")]
    photos, renditions, keys = [], [], []
    for _ in range(photos_wanted):
        photo = Photo(
            owner=owner,
            title="Sweep bench",
            original=f"private/originals/{uuid.uuid4()}.jpg",
            original_format="JPEG",
            original_sha256="0" * 64,
            original_bytes=1,
            original_width=4000,
            original_height=3000,
            status=PhotoStatus.READY,
        )
        photo.original.name = f"private/originals/{photo.key}.jpg"
        photos.append(photo)
        keys.append(photo.original.name)
        for size, fmt in sizes:
            name = f"public/renditions/{photo.key}/{'0' * 16}-v2-{size}.{fmt}"
            renditions.append((photo, size, fmt, name))
            keys.append(name)
    orphans = (photos_wanted * OBJECTS_PER_PHOTO) // ORPHAN_SHARE
    keys += [f"public/renditions/{uuid.uuid4()}/orphan-v2-320.jpg" for _ in range(orphans)]

    def put(key: str) -> None:
        client.put_object(Bucket=bucket, Key=key, Body=b"x")

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(put, keys, chunksize=64))
    Photo.objects.bulk_create(photos, batch_size=2000)
    Rendition.objects.bulk_create(
        [
            Rendition(photo=photo, size=size, format=fmt, file=name, width=size, height=size, bytes=1)
            for photo, size, fmt, name in renditions
        ],
        batch_size=5000,
    )


def measure(algorithm: str) -> dict[str, float]:
    """Sweep (report only) in this process while sampling RSS."""
    _django()
    import gc
    import io

    from django.core.management import call_command

    # Our code only after django.setup(): models need the app registry ready.
    from photosite.storage import object_list

    objects = sum(1 for _ in object_list(""))
    gc.collect()
    before = rss_bytes()
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_bytes())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    if algorithm == "streaming":
        out = io.StringIO()
        call_command("storage_sweep", "--grace-minutes", "0", stdout=out)
        report = out.getvalue()
        orphans = int(report.split("Orphaned objects (no row): ")[1].split()[0])
    else:
        orphans = sweep_with_whole_bucket_sets()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    return {"objects": objects, "orphans": orphans, "before": before, "peak": peak, "seconds": seconds}


def sweep_with_whole_bucket_sets() -> int:
    """The report half of storage_sweep as it was before it streamed, for comparison."""
    from datetime import timedelta

    from django.utils import timezone

    # Our code only after django.setup() (measure's _django(), before it calls this).
    from apps.accounts.models import User
    from apps.photos.models import Photo, Rendition
    from photosite.storage import object_list

    cutoff = timezone.now() - timedelta(minutes=0)
    known = (
        set(Photo.objects.values_list("original", flat=True))
        | set(Rendition.objects.values_list("file", flat=True))
        | set(User.objects.exclude(avatar_key="").values_list("avatar_key", flat=True))
    )
    stored: set[str] = set()
    orphans: list[str] = []
    for prefix in ("private/originals/", "private/renditions/", "public/renditions/", "public/avatars/"):
        for key, modified_at in object_list(prefix):
            stored.add(key)
            if key not in known and modified_at < cutoff:
                orphans.append(key)
    list(Photo.objects.exclude(original__in=stored).filter(created_at__lt=cutoff).values_list("pk", flat=True))
    list(Rendition.objects.exclude(file__in=stored).filter(created_at__lt=cutoff).values_list("pk", "photo_id"))
    return len(orphans)


def child(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "bench/sweep_memory.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(result.stderr[-3000:])
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--write", type=Path, help="replace this benchmark's section in a Markdown file")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", choices=["streaming", "sets"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        seed(args.seed)
        return
    if args.measure:
        result = measure(args.measure)
        print(" ".join(f"{key}={value}" for key, value in result.items()))
        return

    common.BENCH_DB = "photosite_bench_sweep"  # its own database: other benchmarks may run meanwhile
    rows = []
    with bench_environment(redis_db=9) as bench:
        manage(bench.env, "migrate", "--noinput", "-v", "0")
        for count in sorted(args.objects):
            started = time.monotonic()
            child(bench.env, "--seed", str(count))
            print(f"seeded to {count} objects in {time.monotonic() - started:.0f} s", flush=True)
            for algorithm in ("streaming", "sets"):
                output = child(bench.env, "--measure", algorithm).split()[-5:]
                figures = {key: float(value) for key, value in (item.split("=") for item in output)}
                rows.append((algorithm, figures))
                print(algorithm, figures, flush=True)

    mib = 1024 * 1024
    lines = [
        "## Storage sweep: peak memory",
        "",
        f"Command: `.venv/bin/python bench/sweep_memory.py --objects {' '.join(map(str, sorted(args.objects)))}"
        " --write docs/PERFORMANCE.md`  ",
        machine_line(),
        "",
        "`storage_sweep` (report only) over a SeaweedFS bucket: one photo row per ten objects (its original and "
        "nine renditions), 1% orphans. *streaming* is the command; *sets* is the report half of the sweep it "
        "replaced (every key in Python sets, then `exclude(original__in=<all keys>)`). Each run in a fresh "
        "process, resident set size sampled every 20 ms.",
        "",
        "| objects | sweep | orphans found | time | RSS before | peak RSS during | growth |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for algorithm, figures in rows:
        lines.append(
            f"| {int(figures['objects']):,} | {algorithm} | {int(figures['orphans']):,} | {figures['seconds']:.1f} s | "
            f"{figures['before'] / mib:.0f} MiB | {figures['peak'] / mib:.0f} MiB | "
            f"{(figures['peak'] - figures['before']) / mib:.1f} MiB |"
        )
    lines += [
        "",
        "The streaming sweep holds one listing page per prefix (1,000 keys) and one window of 500 photos with "
        "their renditions, whatever the bucket's size; the sets grow with every object and row.",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        write_section(args.write, lines[0], section)


if __name__ == "__main__":
    main()

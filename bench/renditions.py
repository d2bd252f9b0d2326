"""Rendition throughput and peak memory, per input format: our pipeline vs libvips (and,
with --peers, vs other Python thumbnailers).

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/renditions.py [--repeat 3] [--peers] [--only HEIC AVIF] [--write docs/PERFORMANCE.md]

Ours and pyvips make the set the pipeline makes: long edge 320, 640, 1280 and 2048 px,
each as AVIF (quality 60, speed 9) and JPEG (quality 85): 8 files. The --peers
(Pillow-based, no AVIF) make the 4 JPEG files, and ours is measured again on that set
beside them. With --no-mmap-threshold ours runs with glibc's default mmap threshold
(imaging.large_allocations_mapped skipped), for an A/B of that setting. Each (contender, image)
runs in a fresh process, so peak RSS is that process's own (wait4), and time is the
median of --repeat runs inside it. The originals are real photographs from Debian's
mate-backgrounds, resized to 12 MP and 24 MP and saved as camera-like JPEGs (quality
92); the 24 MP Garden is also saved as PNG, WebP (quality 90), HEIC (quality 85) and
AVIF (quality 70), the formats phones and editors upload.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (320, 640, 1280, 2048)
JPEG = {"quality": 85, "optimize": True, "progressive": True}
SOURCES = [
    ("/usr/share/backgrounds/mate/nature/Wood.jpg", (4000, 3000)),
    ("/usr/share/backgrounds/mate/nature/LadyBird.jpg", (4000, 3000)),
    ("/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg", (6000, 4000)),
    ("/usr/share/backgrounds/mate/nature/Garden.jpg", (6000, 4000)),
]
# The last source again, in the other formats uploads come in (Pillow's names, options).
OTHER_FORMATS = [
    ("PNG", "png", {"compress_level": 6}),
    ("WEBP", "webp", {"quality": 90}),
    ("HEIF", "heic", {"quality": 85}),
    ("AVIF", "avif", {"quality": 70, "speed": 6}),
]
CONTENDERS = ["photosite", "pyvips"]  # the full set, AVIF included
PEERS = ["photosite-jpeg", "naive-pillow", "easy-thumbnails", "sorl-thumbnail"]  # JPEG only
GOAL_TIME_RATIO = 1.2  # ours / pyvips (issue 13)
GOAL_PEAK_MB = 200
WORKER_MALLOC_ARENAS = os.environ.get("MALLOC_ARENA_MAX", "2")


# --- The contenders: each returns the list of encoded files it made -------------------


def run_photosite(path: str) -> list[bytes]:
    """The worker's own call: every size and format it stores."""
    from apps.photos import imaging  # only after main() has called django.setup()

    with open(path, "rb") as source:
        rendered, _ = imaging.render_renditions(source)
    return [item.data for item in rendered]


def run_photosite_jpeg(path: str) -> list[bytes]:
    """Ours on the peers' set (no AVIF)."""
    from apps.photos import imaging  # only after main() has called django.setup()

    formats = tuple(output for output in imaging.OUTPUT_FORMATS if output.name == "jpg")
    with open(path, "rb") as source:
        rendered, _ = imaging.render_renditions(source, formats=formats)
    return [item.data for item in rendered]


def run_naive_pillow(path: str) -> list[bytes]:
    """What most code does: open the original for every size and format, thumbnail, save."""
    from PIL import Image, ImageOps

    out = []
    for size in SIZES:
        with Image.open(path) as original:
            image = ImageOps.exif_transpose(original).convert("RGB")
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", **JPEG)
            out.append(buffer.getvalue())
    return out


def run_easy_thumbnails(path: str) -> list[bytes]:
    from django.core.files import File
    from easy_thumbnails import engine

    out = []
    for size in SIZES:
        with open(path, "rb") as handle:
            options = {"size": (size, size), "quality": 85}
            source = engine.generate_source_image(File(handle), options)
            image = engine.process_image(source, options)
            out.append(engine.save_pil_image(image, filename="x.jpg", quality=85).getvalue())
    return out


def run_sorl_thumbnail(path: str) -> list[bytes]:
    from sorl.thumbnail import default
    from sorl.thumbnail.base import ThumbnailBackend
    from sorl.thumbnail.parsers import parse_geometry

    class Sink:
        data = b""

        def write(self, raw: bytes) -> None:
            self.data = raw

    out = []
    for size in SIZES:
        options = dict(ThumbnailBackend.default_options, format="JPEG", quality=85)
        with open(path, "rb") as handle:
            source = default.engine.get_image(handle)
            geometry = parse_geometry(f"{size}x{size}", default.engine.get_image_ratio(source, options))
            image = default.engine.create(source, geometry, options)
            sink = Sink()
            default.engine.write(image, options, sink)
            out.append(sink.data)
    return out


def run_pyvips(path: str) -> list[bytes]:
    """libvips at its best on the same set: one thumbnail call (shrink-on-load, streaming,
    EXIF rotation) to the largest size, each smaller size from the one above it, and
    every format encoded by libvips (AVIF through libheif and libaom, speed 9 = effort 0)."""
    import logging

    import pyvips

    pyvips.cache_set_max(0)
    logging.getLogger("pyvips").setLevel(logging.WARNING)  # Django's logging shows INFO, and libvips logs every step
    out = []
    # held in memory because each size is saved twice (a sequential read cannot rewind)
    image = pyvips.Image.thumbnail(path, max(SIZES), height=max(SIZES), size="down").copy_memory()
    for size in reversed(SIZES):
        if max(image.width, image.height) > size:
            image = image.thumbnail_image(size, height=size).copy_memory()
        out.append(image.jpegsave_buffer(Q=85, optimize_coding=True, interlace=True, keep="none"))
        out.append(image.heifsave_buffer(compression="av1", Q=60, effort=0, keep="none"))
    return out


def child(contender: str, path: str, repeat: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosite.settings")
    os.environ.setdefault("PHOTOSITE_VAR_DIR", tempfile.mkdtemp(prefix="bench-var-"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if os.environ.get("BENCH_NO_MMAP_THRESHOLD") and contender.startswith("photosite"):
        from apps.photos import imaging  # only after django.setup()

        # glibc's default threshold, for the A/B (--no-mmap-threshold): the setting is never made.
        imaging.large_allocations_mapped = lambda: None  # type: ignore[assignment]  # a cached function, replaced
    function = globals()["run_" + contender.replace("-", "_")]
    function(path)  # warm: imports, plugin registration, page cache
    with open("/proc/self/status") as status:  # the peak so far: one job in a fresh process
        first_job_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    times, cpu_times, outputs = [], [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        outputs = function(path)
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    print(
        json.dumps(
            {
                "seconds": statistics.median(times),
                # every thread's user and system time: less at the mercy of other processes than the clock
                "cpu_seconds": statistics.median(cpu_times),
                "files": len(outputs),
                "bytes": sum(map(len, outputs)),
                "first_job_peak_mb": first_job_kb / 1024,
            }
        )
    )


def prepare_originals(directory: Path) -> list[tuple[str, Path]]:
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    prepared = []
    for source, (width, height) in SOURCES:
        if not Path(source).exists():
            raise SystemExit(f"{source} is missing: apt-get install mate-backgrounds")
        with Image.open(source) as image:
            target = directory / f"{Path(source).stem}-{width * height // 1_000_000}mp.jpg"
            picture = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
            picture.save(target, "JPEG", quality=92)
        prepared.append((f"{Path(source).stem.split('_')[0]} {width * height // 1_000_000} MP JPEG", target))
    name = prepared[-1][0].removesuffix(" JPEG")
    for pillow_name, extension, options in OTHER_FORMATS:
        target = directory / f"{prepared[-1][1].stem}.{extension}"
        picture.save(target, pillow_name, **options)
        prepared.append((f"{name} {extension.upper()}", target))
    return prepared


def pyvips_reads(path: Path) -> str | None:
    """Why the pyvips wheel cannot read this original, or None when it can."""
    import pyvips

    try:
        pyvips.Image.thumbnail(str(path), 64).avg()
    except pyvips.Error as error:
        reason = str(error).strip().splitlines()[-1]
        return "the wheel's libheif has no HEVC decoder" if "HEVC" in reason else reason
    return None


def measure(contender: str, path: Path, repeat: int, *, mmap_threshold: bool = True) -> dict[str, float]:
    # The workers' allocator setting (compose/production/django/start-worker), for both contenders.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "photosite.settings", "MALLOC_ARENA_MAX": WORKER_MALLOC_ARENAS}
    if not mmap_threshold:
        env["BENCH_NO_MMAP_THRESHOLD"] = "1"
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", contender, str(path), "--repeat", str(repeat)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{contender} failed on {path}")
    result: dict[str, float] = json.loads(output)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def progress_cpu(result: dict[str, float]) -> str:
    return f"(CPU {result['cpu_seconds']:.2f} s, {result['files']:.0f} files, {result['bytes'] / 1024:.0f} KB)"


def cell(result: dict[str, float]) -> str:
    """Median time, then peak RSS after one job and after all (the warm-up and --repeat)."""
    return f"{result['seconds']:.2f} s, {result['first_job_peak_mb']:.0f} / {result['peak_rss_mb']:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peers", action="store_true", help="also the Pillow-based thumbnailers, on the JPEGs")
    parser.add_argument(
        "--only", nargs="+", metavar="FORMAT", help="only the originals in these formats (JPEG, PNG, WEBP, HEIC, AVIF)"
    )
    parser.add_argument(
        "--no-mmap-threshold", action="store_true", help="ours with glibc's default mmap threshold (an A/B)"
    )
    parser.add_argument("--write", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("CONTENDER", "PATH"))
    parser.add_argument("--prepare", metavar="DIRECTORY")
    args = parser.parse_args()
    if args.prepare:
        prepared = prepare_originals(Path(args.prepare))
        print(json.dumps([(name, str(path), pyvips_reads(path)) for name, path in prepared]))
        return
    if args.child:
        child(args.child[0], args.child[1], args.repeat)
        return

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-renditions-") as directory:
        # Prepared in a child: a fork of a parent holding 24 MP images would start every
        # contender with the parent's peak RSS (Linux keeps ru_maxrss across exec).
        listing = subprocess.run(
            [sys.executable, __file__, "--prepare", directory], check=True, capture_output=True, text=True
        ).stdout
        originals = [(name, Path(path), unreadable) for name, path, unreadable in json.loads(listing)]
        if args.only:
            wanted = tuple(f" {extension.upper()}" for extension in args.only)
            originals = [original for original in originals if original[0].endswith(wanted)]
        results: dict[tuple[str, str], dict[str, float]] = {}
        for name, path, unreadable in originals:
            for contender in CONTENDERS:
                if contender == "pyvips" and unreadable:
                    continue
                results[(name, contender)] = measure(
                    contender, path, args.repeat, mmap_threshold=not args.no_mmap_threshold
                )
                print(
                    name,
                    contender,
                    cell(results[(name, contender)]),
                    progress_cpu(results[(name, contender)]),
                    file=sys.stderr,
                )
            if args.peers and name.endswith("JPEG"):
                for contender in PEERS:
                    results[(name, contender)] = measure(contender, path, args.repeat)
                    print(name, contender, cell(results[(name, contender)]), file=sys.stderr)

    load_after = os.getloadavg()[0]
    command = ".venv/bin/python bench/renditions.py --repeat {} {}{}{}--write docs/PERFORMANCE.md".format(
        args.repeat,
        "--peers " if args.peers else "",
        "--no-mmap-threshold " if args.no_mmap_threshold else "",
        f"--only {' '.join(args.only)} " if args.only else "",
    )
    lines = [
        "## Renditions: ours vs other thumbnailers",
        "",
        f"Command: `{command}` (after `.venv/bin/pip install -e '.[bench]'` and "
        f"`apt-get install mate-backgrounds`), run {started} on the shared 2-core machine (load "
        f"average {load_before:.1f} before, {load_after:.1f} after: both contenders ran in turn on each "
        "original, so their ratio is fairer than either time).  ",
        "Each cell: median seconds for the set the pipeline makes (4 sizes x AVIF q60 speed 9 + JPEG "
        "q85: 8 files), then the peak RSS of a fresh process "
        "that has loaded Django (about 93 MB of it before any image; libvips adds 14) after its first "
        f"job / after all {args.repeat + 1} (a worker's steady state). Both contenders run with "
        f"`MALLOC_ARENA_MAX={WORKER_MALLOC_ARENAS}`, as the workers do (start-worker). "
        f"Goal (issue 13): time <= {GOAL_TIME_RATIO}x pyvips doing the same set, peak RSS <= {GOAL_PEAK_MB} MB.",
        "",
        "| original | ours | pyvips | time, ours / pyvips | CPU, ours / pyvips | ours within the goal |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, _, unreadable in originals:
        ours = results[(name, "photosite")]
        vips = results.get((name, "pyvips"))
        ratio = ours["seconds"] / vips["seconds"] if vips else None
        # every thread's CPU time: on a busy machine the clock measures the neighbours too
        cpu_ratio = f"{ours['cpu_seconds'] / vips['cpu_seconds']:.2f}x" if vips else "-"
        verdicts = []
        if ratio is not None:
            verdicts.append("time yes" if ratio <= GOAL_TIME_RATIO else "time no")
        verdicts.append(
            "memory: "
            + ", ".join(
                f"{label} {'yes' if ours[key] <= GOAL_PEAK_MB else 'no'}"
                for label, key in (("one job", "first_job_peak_mb"), ("all", "peak_rss_mb"))
            )
        )
        lines.append(
            f"| {name} | {cell(ours)} | {cell(vips) if vips else 'cannot read it: ' + str(unreadable)} | "
            f"{f'{ratio:.2f}x' if ratio is not None else '-'} | {cpu_ratio} | {', '.join(verdicts)} |"
        )
    ratios = [
        results[(name, "photosite")]["seconds"] / results[(name, "pyvips")]["seconds"]
        for name, _, _ in originals
        if (name, "pyvips") in results
    ]
    cpu_ratios = [
        results[(name, "photosite")]["cpu_seconds"] / results[(name, "pyvips")]["cpu_seconds"]
        for name, _, _ in originals
        if (name, "pyvips") in results
    ]
    lines += [
        "",
        "Time relative to pyvips, geometric mean over the originals it reads: "
        f"{statistics.geometric_mean(ratios):.2f}x (CPU time: {statistics.geometric_mean(cpu_ratios):.2f}x).",
        "",
        "How ours gets there (apps/photos/imaging.py, `shrunk_original`): the original is shrunk to",
        "the largest size while it is decoded, and everything after (rotation, sRGB, the smaller",
        "sizes, the encodes) works on the small image. JPEG: libvips' shrink-on-load (libjpeg's DCT",
        "scaling at 1/2, 1/4 or 1/8) then its reduce, a few lines at a time; a CMYK JPEG goes",
        "through Pillow's draft instead, so LittleCMS converts it through its own profile. PNG and",
        "GIF: libvips reads a few lines at a time, flattens and shrinks them, so the full-size pixels",
        "are never all in memory; WebP: libwebp decodes at the reduced scale. HEIF and AVIF:",
        "libheif (libde265) and libavif (dav1d, one thread) decode to their YCbCr planes (36 MB at",
        "24 MP in 4:2:0), read through their C APIs, and libvips shrinks each plane where it lies;",
        "the decoder is freed and only the shrunk image is converted to RGB with the picture's own",
        "matrix and range. Before, the decoders' RGB frame (72 MB) and the bindings' copy of it",
        "were held too: 252 MB for the HEIC, 280 for the AVIF. Then the memory the decode freed is",
        "returned to the system (malloc_trim) before the encodes, and what the encoders freed at the",
        "end of the job; glibc maps every block of 4 MB or more by itself (mallopt), so what one job",
        "frees is unmapped rather than left in the heap for the next to miss (a worker's peak on",
        "the HEIC drifted from 207 to 233 MB without it), and the workers run with two malloc",
        "arenas instead of one per thread (`MALLOC_ARENA_MAX=2` in start-worker). AVIF is encoded",
        "at libaom's speed 9 (at 2048 px, 35-65% less CPU than speed 8 for the same PSNR and files",
        "at most 5% larger) and without its TPL model (the same bytes, 5 MB less).",
        "",
        "What holds the memory figures up: Django and libvips take 107 MB before any image, and",
        "libaom's AVIF encoder about 61 MB at 2048 px by itself, so every job's floor is near 180",
        "MB. The HEIC's is its decode: libde265's picture with its per-block metadata and libheif's",
        "copy of the planes, about 93 MB above the process for this single-picture 24 MP HEIC",
        "(a phone's HEIC is a grid of 512 px tiles, decoded one by one into the planes: not",
        "measured here). Lower would take libde265 driven directly, without libheif's copy.",
        "tests/photos/test_imaging_memory.py bounds each format's job.",
    ]
    if args.peers:
        lines += [
            "",
            "The Pillow-based thumbnailers on the JPEGs (they make no AVIF, so ours makes the same 4",
            "JPEG files here); the ratio is against ours on the same image (above 1 = slower",
            "or bigger than ours):",
            "",
            "| original | " + " | ".join(PEERS) + " |",
            "|---|" + "---:|" * len(PEERS),
        ]
        for name, _, _ in originals:
            if (name, PEERS[0]) not in results:
                continue
            ours = results[(name, PEERS[0])]
            cells = []
            for contender in PEERS:
                result = results[(name, contender)]
                cells.append(
                    f"{result['seconds']:.2f} s ({result['seconds'] / ours['seconds']:.1f}x), "
                    f"{result['peak_rss_mb']:.0f} MB ({result['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x)"
                )
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "The peers decode the full original for every size (4 times); ours once, shrunk.",
        ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        sys.path.insert(0, str(ROOT))
        from bench.common import write_section

        write_section(args.write, "## Renditions: ours vs other thumbnailers", section)


if __name__ == "__main__":
    main()

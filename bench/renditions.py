"""Rendition throughput and peak memory: our pipeline vs other Python thumbnailers and libvips.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/renditions.py [--repeat 3] [--write docs/PERFORMANCE.md]

Every contender makes the same set from the same originals: long edge 320, 640,
1280 and 2048 px, each as JPEG (quality 85) and WebP (quality 80, method 2),
EXIF-oriented. Each (contender, image) runs in a fresh process, so peak RSS is
that process's own (wait4), and time is the median of --repeat runs inside it.
The originals are real photographs from Debian's mate-backgrounds, resized to
12 MP and 24 MP and saved as camera-like JPEGs (quality 92).
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
WEBP = {"quality": 80, "method": 2}
JPEG = {"quality": 85, "optimize": True, "progressive": True}
SOURCES = [
    ("/usr/share/backgrounds/mate/nature/Wood.jpg", (4000, 3000)),
    ("/usr/share/backgrounds/mate/nature/LadyBird.jpg", (4000, 3000)),
    ("/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg", (6000, 4000)),
    ("/usr/share/backgrounds/mate/nature/Garden.jpg", (6000, 4000)),
]
CONTENDERS = ["photosite", "naive-pillow", "easy-thumbnails", "sorl-thumbnail", "pyvips"]


# --- The contenders: each returns the list of encoded files it made -------------------


def run_photosite(path: str) -> list[bytes]:
    from apps.photos import imaging  # only after main() has called django.setup()

    formats = tuple(output for output in imaging.OUTPUT_FORMATS if output.name in ("jpg", "webp"))
    with open(path, "rb") as source:
        rendered, _ = imaging.render_renditions(source, formats=formats)
    return [item.data for item in rendered]


def run_naive_pillow(path: str) -> list[bytes]:
    """What most code does: open the original for every size and format, thumbnail, save."""
    from PIL import Image, ImageOps

    out = []
    for size in SIZES:
        for fmt, options in (("JPEG", JPEG), ("WEBP", WEBP)):
            with Image.open(path) as original:
                image = ImageOps.exif_transpose(original).convert("RGB")
                image.thumbnail((size, size), Image.Resampling.LANCZOS)
                buffer = io.BytesIO()
                image.save(buffer, fmt, **options)
                out.append(buffer.getvalue())
    return out


def run_easy_thumbnails(path: str) -> list[bytes]:
    from django.core.files import File
    from easy_thumbnails import engine

    out = []
    for size in SIZES:
        for extension, quality in ((".jpg", 85), (".webp", 80)):
            with open(path, "rb") as handle:
                options = {"size": (size, size), "quality": quality}
                source = engine.generate_source_image(File(handle), options)
                image = engine.process_image(source, options)
                out.append(engine.save_pil_image(image, filename=f"x{extension}", quality=quality).getvalue())
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
        for fmt, quality in (("JPEG", 85), ("WEBP", 80)):
            options = dict(ThumbnailBackend.default_options, format=fmt, quality=quality)
            with open(path, "rb") as handle:
                source = default.engine.get_image(handle)
                geometry = parse_geometry(f"{size}x{size}", default.engine.get_image_ratio(source, options))
                image = default.engine.create(source, geometry, options)
                sink = Sink()
                default.engine.write(image, options, sink)
                out.append(sink.data)
    return out


def run_pyvips(path: str) -> list[bytes]:
    """libvips' thumbnail: shrink-on-load, streaming, and one call per size."""
    import pyvips

    out = []
    for size in SIZES:
        # auto-rotates by EXIF; held in memory because it is saved twice (a sequential read cannot rewind)
        image = pyvips.Image.thumbnail(path, size, height=size).copy_memory()
        out.append(image.jpegsave_buffer(Q=85, optimize_coding=True, interlace=True, strip=True))
        out.append(image.webpsave_buffer(Q=80, effort=2, strip=True))
    return out


def child(contender: str, path: str, repeat: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosite.settings")
    os.environ.setdefault("PHOTOSITE_VAR_DIR", tempfile.mkdtemp(prefix="bench-var-"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    function = globals()["run_" + contender.replace("-", "_")]
    function(path)  # warm: imports, plugin registration, page cache
    times, outputs = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        outputs = function(path)
        times.append(time.perf_counter() - started)
    print(json.dumps({"seconds": statistics.median(times), "files": len(outputs), "bytes": sum(map(len, outputs))}))


def prepare_originals(directory: Path) -> list[tuple[str, Path]]:
    from PIL import Image

    prepared = []
    for source, (width, height) in SOURCES:
        if not Path(source).exists():
            raise SystemExit(f"{source} is missing: apt-get install mate-backgrounds")
        with Image.open(source) as image:
            target = directory / f"{Path(source).stem}-{width * height // 1_000_000}mp.jpg"
            image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS).save(target, "JPEG", quality=92)
        prepared.append((f"{Path(source).stem.split('_')[0]} {width * height // 1_000_000} MP", target))
    return prepared


def measure(contender: str, path: Path, repeat: int) -> dict[str, float]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", contender, str(path), "--repeat", str(repeat)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "photosite.settings"},
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{contender} failed on {path}")
    result: dict[str, float] = json.loads(output)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("CONTENDER", "PATH"))
    parser.add_argument("--prepare", metavar="DIRECTORY")
    args = parser.parse_args()
    if args.prepare:
        print(json.dumps([(name, str(path)) for name, path in prepare_originals(Path(args.prepare))]))
        return
    if args.child:
        child(args.child[0], args.child[1], args.repeat)
        return

    with tempfile.TemporaryDirectory(prefix="bench-renditions-") as directory:
        # Prepared in a child: a fork of a parent holding 24 MP images would start every
        # contender with the parent's peak RSS (Linux keeps ru_maxrss across exec).
        listing = subprocess.run(
            [sys.executable, __file__, "--prepare", directory], check=True, capture_output=True, text=True
        ).stdout
        originals = [(name, Path(path)) for name, path in json.loads(listing)]
        results = {
            (name, contender): measure(contender, path, args.repeat)
            for name, path in originals
            for contender in CONTENDERS
        }

    lines = [
        "## Renditions: ours vs other thumbnailers",
        "",
        f"Command: `.venv/bin/python bench/renditions.py --repeat {args.repeat} --write docs/PERFORMANCE.md` "
        "(after `.venv/bin/pip install -e '.[bench]'` and `apt-get install mate-backgrounds`)  ",
        "Each cell: median seconds for the whole set (4 sizes x JPEG q85 + WebP q80), then peak RSS of "
        "a fresh process; the ratio is against ours on the same image (above 1 = slower or bigger than ours).",
        "",
        "| image | " + " | ".join(CONTENDERS) + " |",
        "|---|" + "---:|" * len(CONTENDERS),
    ]
    for name, _ in originals:
        ours = results[(name, "photosite")]
        cells = []
        for contender in CONTENDERS:
            result = results[(name, contender)]
            cells.append(
                f"{result['seconds']:.2f} s ({result['seconds'] / ours['seconds']:.1f}x), "
                f"{result['peak_rss_mb']:.0f} MB ({result['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x)"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    geo = {
        contender: statistics.geometric_mean(
            results[(name, contender)]["seconds"] / results[(name, "photosite")]["seconds"] for name, _ in originals
        )
        for contender in CONTENDERS
    }
    lines += [
        "",
        "Time relative to ours, geometric mean over the images: "
        + ", ".join(f"{contender} {ratio:.2f}x" for contender, ratio in geo.items())
        + ".",
    ]
    lines += [
        "",
        "Why ours beats the Pillow-based peers: it decodes the original once, and for JPEG at the",
        "smallest 1/2, 1/4 or 1/8 scale that still covers 2048 px (libjpeg's DCT scaling, Pillow's",
        "`draft`), then makes each size from the next larger one and encodes both formats from the",
        "same pixels. The peers decode the full original for every size and format (8 times).",
        "The gap to libvips is small: libvips also shrinks on load, and is a little faster overall",
        "(its reduce kernels are cheaper than Pillow's LANCZOS); it wins on the 12 MP inputs, which",
        "ours must decode whole (4000 px halves to 2000, below 2048); the 24 MP ones are split.",
        "Peak memory is about equal at 12 MP; at 24 MP ours is lower because the half-scale decode",
        "holds a 6 MP frame, while libvips keeps each size in memory to encode it twice. Every",
        "process carries Django (all contenders do, to compare like with like).",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        sys.path.insert(0, str(ROOT))
        from bench.cache import write_section

        write_section(args.write, "## Renditions: ours vs other thumbnailers", section)


if __name__ == "__main__":
    main()

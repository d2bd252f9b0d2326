"""Peak memory of a rendition job and of an avatar upload, per input format, at 24 megapixels.

A worker renders one original at a time; what it must never do is hold the full-size
pixels more than once (or, for PNG, GIF and WebP, at all): a 24 MP image is 96 MB as
Pillow pixels. Each job runs in a fresh process that has loaded Django and libvips,
and its peak is read from the kernel (VmHWM, reset at the job's start), as megabytes
above what the process held when the job began. Memory is deterministic enough to
assert; time is not asserted here (bench/renditions.py measures it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 6000, 4000  # 24 MP, a current phone's or camera's photo

# Megabytes a job may add to its process at its peak: measured (on these smooth
# pictures) JPEG 78, PNG 80, WebP 99, HEIF 83, AVIF 75. Every rendition job encodes AVIF
# at 2048 px, which alone takes about 61 MB (libaom). JPEG, PNG and WebP are shrunk by
# libvips while they decode; HEIF and AVIF are decoded whole, once, by libheif and
# libavif, but only into their YCbCr planes (36 MB at 24 MP), which libvips shrinks
# before anything is converted to RGB. Before: HEIF 167 and AVIF 181 with RGB decodes,
# and before this budget (on photographs) JPEG 132, PNG 267, WebP 460, HEIF 275, AVIF 319.
RENDITION_BUDGET_MB = {"JPEG": 115, "PNG": 115, "WEBP": 115, "HEIF": 115, "AVIF": 115}
# An avatar is cropped to 256 px in the web process, shrunk by libvips while decoding
# (measured JPEG 7, PNG 36, WebP 3). A 24 MP full-size decode alone is 96 MB.
AVATAR_BUDGET_MB = {"JPEG": 20, "PNG": 60, "WEBP": 20}

CHILD = """
import gc, io, json, os, sys
import django
django.setup()
from apps.photos import imaging
imaging.libvips()  # a worker loads it with its first job


def status(key):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(key + ":"))


def peak_mb(job):
    gc.collect()
    imaging.free_memory_return()  # what the last job freed goes back to the system, not to this one
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the kernel's peak (VmHWM) starts again from here
    before = status("VmRSS")
    job()
    return (status("VmHWM") - before) / 1024


peaks = {}
for kind, name in json.loads(sys.argv[1]):
    with open(name, "rb") as original:
        data = original.read()
    if kind == "renditions":
        peaks[kind + " " + os.path.basename(name)] = peak_mb(lambda: imaging.render_renditions(io.BytesIO(data)))
    else:
        peaks[kind + " " + os.path.basename(name)] = peak_mb(
            lambda: imaging.avatar_render(upload=io.BytesIO(data), size=len(data))
        )
print(json.dumps(peaks))
"""


def originals(directory: Path) -> dict[str, Path]:
    """The same smooth 24 MP picture in every format (smooth: quick to encode, and a
    decoder's memory depends on the pixel count, not on what the pixels show)."""
    ramp = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    picture = Image.merge(
        "RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    )
    options: dict[str, dict[str, object]] = {
        "JPEG": {"quality": 90},
        "PNG": {"compress_level": 1},
        "WEBP": {"quality": 50, "method": 0},
        "HEIF": {"quality": 30, "enc_params": {"preset": "ultrafast"}},
        "AVIF": {"quality": 30, "speed": 10},
    }
    paths = {}
    for image_format, save_options in options.items():
        path = directory / f"24mp.{image_format.lower()}"
        picture.save(path, image_format, **save_options)
        paths[image_format] = path
    return paths


def peaks_in_a_fresh_process(jobs: list[tuple[str, Path]]) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([(kind, str(path)) for kind, path in jobs])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    peaks: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return peaks


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="reads peak memory from Linux's /proc")
def test_a_24_megapixel_original_of_any_format_is_rendered_and_an_avatar_made_within_a_memory_budget(
    tmp_path,
) -> None:
    paths = originals(tmp_path)
    jobs = [("renditions", path) for path in paths.values()] + [("avatar", paths[name]) for name in AVATAR_BUDGET_MB]
    peaks = peaks_in_a_fresh_process(jobs)
    over = [
        f"{kind} of a 24 MP {image_format}: {peaks[f'{kind} {paths[image_format].name}']:.0f} MB, budget {budget} MB"
        for kind, budgets in (("renditions", RENDITION_BUDGET_MB), ("avatar", AVATAR_BUDGET_MB))
        for image_format, budget in budgets.items()
        if peaks[f"{kind} {paths[image_format].name}"] > budget
    ]
    assert not over, "\n".join(over) + f"\nall peaks: {peaks}"

"""Generated landscape pictures for demo content and tests (no files shipped, no network)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter, ImageOps

PALETTES = [
    ("#0f172a", "#f97316", "#1e293b"),  # dusk
    ("#1d4ed8", "#bae6fd", "#14532d"),  # clear day
    ("#4c1d95", "#f0abfc", "#312e81"),  # violet hour
    ("#7c2d12", "#fde68a", "#3f2d1a"),  # desert
    ("#0c4a6e", "#e0f2fe", "#0f766e"),  # coast
    ("#111827", "#9ca3af", "#374151"),  # fog
]


def landscape(*, width: int, height: int, seed: int) -> Image.Image:
    rng = random.Random(seed)  # noqa: S311 (demo pictures, not secrets: the same seed draws the same landscape)
    top, bottom, ground = PALETTES[seed % len(PALETTES)]
    sky = ImageOps.colorize(Image.linear_gradient("L").resize((width, height)), top, bottom)
    draw = ImageDraw.Draw(sky)
    sun_x, sun_y, sun_r = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.45) * height, height * 0.08
    draw.ellipse((sun_x - sun_r, sun_y - sun_r, sun_x + sun_r, sun_y + sun_r), fill="#fff7ed")
    for layer in range(3):
        base = height * (0.55 + 0.12 * layer)
        points: list[tuple[float, float]] = [(0, height)]
        for step in range(0, 13):
            x = width * step / 12
            points.append((x, base - rng.uniform(0.02, 0.22) * height / (layer + 1)))
        points.append((width, height))
        shade = ImageOps.colorize(Image.new("L", (1, 1), 60 + 50 * layer), ground, bottom).getpixel((0, 0))
        draw.polygon(points, fill=shade)
    return sky.filter(ImageFilter.GaussianBlur(radius=max(1, width // 800)))


def landscape_jpeg(*, width: int, height: int, seed: int, quality: int = 90, exif: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    landscape(width=width, height=height, seed=seed).save(buffer, "JPEG", quality=quality, **kwargs)
    return buffer.getvalue()

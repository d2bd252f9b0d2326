"""The imaging pipeline, pure Pillow: checking an upload by its content, renditions, avatars.

Nothing here touches the database or storage; services.py stores and records what
these functions make, and bench/renditions.py measures them.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import warnings
from dataclasses import dataclass
from typing import IO, SupportsFloat

from django.conf import settings
from django.utils.translation import gettext
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

from apps.photos.uploads import UploadRejected, upload_size_check

logger = logging.getLogger(__name__)

# Pillow's names. HEIF (iPhone photos) comes from pillow-heif; GIFs give their first frame.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "AVIF", "GIF")
ALLOWED_FORMATS_TEXT = "a JPEG, PNG, WebP, HEIC, AVIF or GIF image"
EXTENSION_FOR_FORMAT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic", "AVIF": "avif", "GIF": "gif"}
# The Content-Type an original is stored and served with: from what it decoded as, never
# from what the client declared (a "text/html" original would be a page on our domain).
MIME_TYPE_FOR_FORMAT = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
    "GIF": "image/gif",
}
RENDITION_SIZES = (320, 640, 1280, 2048)  # long edge, in pixels


@dataclass(frozen=True)
class OutputFormat:
    name: str  # Rendition.format and the key's extension
    pillow_name: str
    mime_type: str
    min_size: int  # made for sizes from this label up
    options: dict[str, object]


# Browsers take the first <source> they support: AVIF, then WebP, then JPEG, which
# every browser reads. AVIF pays off on large images; small ones are already tiny.
OUTPUT_FORMATS = (
    OutputFormat("avif", "AVIF", "image/avif", 1280, {"quality": 60, "speed": 8}),
    OutputFormat("webp", "WEBP", "image/webp", 0, {"quality": 80, "method": 2}),
    OutputFormat("jpg", "JPEG", "image/jpeg", 0, {"quality": 85, "optimize": True, "progressive": True}),
)
# Part of every rendition key: bump it when the pipeline's output changes, so new
# renditions get new keys and cached copies of the old ones never shadow them.
PIPELINE_VERSION = 2


class RenditionFailed(Exception):
    """The stored original cannot be rendered; the message is shown to the photo's owner."""


@dataclass(frozen=True)
class CheckedImage:
    format: str
    width: int
    height: int
    sha256: str
    bytes: int
    camera_facts: dict[str, str]

    @property
    def extension(self) -> str:
        return EXTENSION_FOR_FORMAT[self.format]

    @property
    def mime_type(self) -> str:
        return MIME_TYPE_FOR_FORMAT[self.format]


def check_image_upload(*, upload: IO[bytes], size: int) -> CheckedImage:
    """Check an upload by its content before anything is stored.

    Bounded cost, in the web process: the byte size and pixel count are checked before
    any pixel is decoded; then
    - a JPEG is decoded at 1/8 scale, which still reads every byte (a truncated file is caught);
    - any image within PHOTO_WEB_DECODE_MAX_PIXELS is decoded whole;
    - a larger PNG is not decoded: every chunk is read and its checksum checked, which
      catches a truncated or altered file (a 47 KB PNG can declare 49 megapixels);
    - a larger WebP, HEIF, AVIF or GIF (no reduced decoding in Pillow) is checked by its
      header only; the worker decodes it whole and marks the photo failed, with the
      reason for its owner, should it be damaged.
    """
    upload_size_check(size=size)
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload, formats=ALLOWED_FORMATS) as image:
                width, height = image.size
                pixels_check(width, height)
                image_format = str(image.format)
                decode = image_format == "JPEG" or within_web_decode_budget(width, height)
                if image_format == "JPEG":
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                if decode:
                    image.load()
                # A PNG's EXIF may come after its pixels, and Pillow decodes them to find it.
                exif_without_decoding = decode or image_format != "PNG" or "exif" in image.info
                camera_facts = camera_facts_from(image.getexif()) if exif_without_decoding else {}
                if not decode and image_format == "PNG":
                    image.verify()
    except UnidentifiedImageError:
        raise UploadRejected(gettext("This file is not %(formats)s.") % {"formats": ALLOWED_FORMATS_TEXT}) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRejected(too_many_pixels_message()) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UploadRejected(gettext("The image is damaged or incomplete (%(error)s).") % {"error": error}) from None
    finally:
        upload.seek(0)
    return CheckedImage(
        format=image_format,
        width=width,
        height=height,
        sha256=digest.hexdigest(),
        bytes=size,
        camera_facts=camera_facts,
    )


def camera_facts_from(exif: Image.Exif) -> dict[str, str]:
    """The few camera facts a photo page shows, as display text; nothing else is kept.

    GPS, serial numbers, names and everything else in the EXIF are never read.
    """
    facts: dict[str, str] = {}
    details = exif.get_ifd(ExifTags.IFD.Exif)

    def text(value: object) -> str:
        return str(value).strip("\x00 ").strip()[:100] if value is not None else ""

    for key, tag in (("make", ExifTags.Base.Make), ("model", ExifTags.Base.Model)):
        if text(exif.get(tag)):
            facts[key] = text(exif.get(tag))
    if text(details.get(ExifTags.Base.LensModel)):
        facts["lens"] = text(details.get(ExifTags.Base.LensModel))

    def positive(value: SupportsFloat) -> float:
        """The number, if it can be one a camera wrote: a zero denominator reads as NaN."""
        number = float(value)
        if not (math.isfinite(number) and number > 0):
            raise ValueError(f"not a positive number: {value!r}")
        return number

    def exposure(value: SupportsFloat) -> str:
        seconds = positive(value)
        return f"1/{round(1 / seconds)} s" if seconds < 1 else f"{seconds:g} s"

    def iso(value: int | tuple[int, ...]) -> str:
        return str(int(positive(value[0] if isinstance(value, tuple) else value)))

    formatters = (
        ("exposure", ExifTags.Base.ExposureTime, exposure),
        ("aperture", ExifTags.Base.FNumber, lambda value: f"f/{positive(value):.1f}".replace(".0", "")),
        ("focal_length", ExifTags.Base.FocalLength, lambda value: f"{positive(value):g} mm"),
        ("iso", ExifTags.Base.ISOSpeedRatings, iso),
    )
    for key, tag, formatted in formatters:
        value = details.get(tag)
        if not value:
            continue
        try:
            facts[key] = formatted(value)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, IndexError):
            pass  # one malformed value is skipped alone, never a reason to hide the others or refuse the photo
    taken = text(details.get(ExifTags.Base.DateTimeOriginal))
    if len(taken) >= 19 and taken[4] == ":":
        facts["taken_at"] = f"{taken[:4]}-{taken[5:7]}-{taken[8:10]} {taken[11:16]}"
    return facts


def within_web_decode_budget(width: int, height: int) -> bool:
    """Whether the web process may decode an image of this size whole (JPEGs never need to)."""
    return width * height <= settings.PHOTO_WEB_DECODE_MAX_PIXELS


def too_many_pixels_message() -> str:
    megapixels = settings.PHOTO_MAX_PIXELS / 1_000_000
    return gettext("The image has too many pixels; the limit is %(megapixels)s megapixels.") % {
        "megapixels": f"{megapixels:g}"
    }


def pixels_check(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise UploadRejected(gettext("The image has no pixels."))
    if width * height > settings.PHOTO_MAX_PIXELS:
        raise UploadRejected(too_many_pixels_message())


@dataclass(frozen=True)
class RenderedImage:
    size: int
    format: str
    width: int
    height: int
    data: bytes


def rendition_target_sizes(*, width: int, height: int) -> list[tuple[int, int, int]]:
    """(size label, width, height) for each rendition; never upscaled, no duplicates."""
    long_edge = max(width, height)
    targets: list[tuple[int, int, int]] = []
    for size in RENDITION_SIZES:
        edge = min(size, long_edge)
        if targets and max(targets[-1][1], targets[-1][2]) == edge:
            break  # the original is smaller than this size: the last one is already full size
        scale = edge / long_edge
        targets.append((size, max(1, round(width * scale)), max(1, round(height * scale))))
    return targets


def to_srgb(image: Image.Image) -> Image.Image:
    """Flatten to RGB and convert an embedded colour profile to sRGB."""
    icc = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB") or image
        except (ImageCms.PyCMSError, OSError, ValueError):
            logger.info("ignoring an unreadable colour profile")
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.info.clear()  # nothing from the original's metadata may reach a rendition
    return image


def render_renditions(
    source: IO[bytes], *, formats: tuple[OutputFormat, ...] = OUTPUT_FORMATS
) -> tuple[list[RenderedImage], str]:
    """Make every rendition of an original, and its placeholder colour.

    Speed: JPEGs are decoded at the smallest 1/2, 1/4 or 1/8 scale that still covers
    the largest size, and each size is made from the next larger one.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=ALLOWED_FORMATS) as original:
                pixels_check(*original.size)
                raw_w, raw_h = original.size
                largest = min(max(RENDITION_SIZES), max(raw_w, raw_h))
                scale = largest / max(raw_w, raw_h)
                if original.format == "JPEG":
                    original.draft("RGB", (max(1, int(raw_w * scale)), max(1, int(raw_h * scale))))
                # Sizes come from the full-resolution, oriented dimensions, not the draft's.
                orientation = original.getexif().get(ExifTags.Base.Orientation, 1)
                full_w, full_h = (raw_h, raw_w) if orientation in (5, 6, 7, 8) else (raw_w, raw_h)
                oriented = ImageOps.exif_transpose(original)
                image = to_srgb(oriented)
    except UploadRejected as error:
        raise RenditionFailed(str(error)) from None
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise RenditionFailed("The stored file is not an image we can read.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise RenditionFailed(f"The image could not be decoded ({error}).") from None

    # The average colour as "#rrggbb": to_srgb made the image RGB, so its one pixel is three bytes.
    placeholder = "#" + image.resize((1, 1), Image.Resampling.BOX).tobytes().hex()
    rendered: list[RenderedImage] = []
    current = image
    for size, width, height in reversed(rendition_target_sizes(width=full_w, height=full_h)):
        if current.size != (width, height):
            current = current.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        for output in formats:
            if size >= output.min_size:
                buffer = io.BytesIO()
                current.save(buffer, output.pillow_name, **output.options)
                rendered.append(RenderedImage(size, output.name, width, height, buffer.getvalue()))
    rendered.sort(key=lambda item: (item.size, item.format))
    return rendered, placeholder


def renditions_expected(*, width: int, height: int) -> set[tuple[int, str]]:
    """The (size, format) pairs a complete set of renditions has for an original of this size."""
    return {
        (size, output.name)
        for size, _, _ in rendition_target_sizes(width=width, height=height)
        for output in OUTPUT_FORMATS
        if size >= output.min_size
    }


AVATAR_SIZE = 256  # pixels, square; pages show it at 32-96 CSS px, so this covers 2x screens


def avatar_render(*, upload: IO[bytes], size: int) -> bytes:
    """Check a picture like any photo upload, crop it square and encode it as WebP.

    In the web process, so decoded small: a JPEG at the smallest 1/2, 1/4 or 1/8 scale
    that still covers the square; other formats only within PHOTO_WEB_DECODE_MAX_PIXELS.
    Raises UploadRejected with a message for the person.
    """
    checked = check_image_upload(upload=upload, size=size)
    if checked.format != "JPEG" and not within_web_decode_budget(checked.width, checked.height):
        megapixels = settings.PHOTO_WEB_DECODE_MAX_PIXELS / 1_000_000
        raise UploadRejected(
            gettext(
                "A profile picture in this format can have at most %(megapixels)s megapixels; a JPEG can be larger."
            )
            % {"megapixels": f"{megapixels:g}"}
        )
    upload.seek(0)
    with Image.open(upload, formats=ALLOWED_FORMATS) as image:
        image.seek(0)  # the first frame of a GIF
        if image.format == "JPEG":
            image.draft("RGB", (AVATAR_SIZE, AVATAR_SIZE))  # keeps both sides at least AVATAR_SIZE
        square = ImageOps.fit(to_srgb(ImageOps.exif_transpose(image)), (AVATAR_SIZE, AVATAR_SIZE))
    output = io.BytesIO()
    square.save(output, "WEBP", quality=85)
    return output.getvalue()

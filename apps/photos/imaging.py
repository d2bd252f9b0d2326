"""The imaging pipeline, pure Pillow: checking an upload by its content, renditions, avatars.

Nothing here touches the database or storage; services.py stores and records what
these functions make, and bench/renditions.py measures them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import io
import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, Any, SupportsFloat

import pillow_heif
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


# Browsers take the first <source> they support: AVIF, which every current browser reads
# (Chrome 85, Firefox 93, Safari 16, Edge 121), then JPEG, which every browser reads. No
# WebP: it was a third of a job's CPU for the few browsers that read WebP and not AVIF
# (Safari 14-15, older Edge), which now get the JPEG.
# AVIF at every size, not only from 1280 px: grid cards load the 320 and 640 px files,
# where AVIF is half the JPEG's bytes (18 KB against 36 KB at 640 px, photographs) for 21
# ms of CPU per photo at both sizes together; WebP at all four sizes took 126 ms.
# AVIF at libaom's speed 9, not 8: at 2048 px it takes 35-65% less CPU (0.20 s instead of
# 0.31 on a photograph, 0.37 instead of 1.09 on noise) for the same PSNR and files at most
# 5% larger, and it was the largest part of a rendition job. Without libaom's TPL model:
# at speed 9 it does not change a byte of the file, and its buffers are 5 MB of the
# encoder's 66 at 2048 px.
OUTPUT_FORMATS = (
    OutputFormat(
        "avif", "AVIF", "image/avif", 0, {"quality": 60, "speed": 9, "advanced": (("enable-tpl-model", "0"),)}
    ),
    OutputFormat("jpg", "JPEG", "image/jpeg", 0, {"quality": 85, "optimize": True, "progressive": True}),
)
# What pipelines before version 3 made too: a photo keeps these rows (and pages offer them)
# until renditions_rebuild re-renders it. Drop once no Rendition row has the format.
LEGACY_OUTPUT_FORMATS = (OutputFormat("webp", "WEBP", "image/webp", 0, {"quality": 80, "method": 2}),)
# Part of every rendition key: bump it when the pipeline's output changes, so new
# renditions get new keys and cached copies of the old ones never shadow them.
# 3: AVIF at every size and no WebP.
PIPELINE_VERSION = 3


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

    Bounded cost, in the web process: no image is decoded whole here. The byte size and
    the pixel count (from the header: a decompression bomb is refused before any pixel is
    decoded) come first; then
    - a JPEG is decoded at 1/8 scale, which still reads every byte (a truncated file is caught);
    - a PNG is not decoded: every chunk is read and its checksum checked, which catches a
      truncated or altered file (a 47 KB PNG can declare 49 megapixels);
    - a WebP, HEIF, AVIF or GIF is checked by its header only; the worker decodes it, and
      marks the photo failed, with the reason for its owner, should it be damaged.
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
                if image_format == "JPEG":
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                    image.load()
                # A PNG's EXIF may come after its pixels, and Pillow decodes them to find it.
                exif_without_decoding = image_format != "PNG" or "exif" in image.info
                camera_facts = camera_facts_from(image.getexif()) if exif_without_decoding else {}
                if image_format == "PNG":
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
    """Whether the web process may decode an image of this size whole: only an avatar in
    a format that cannot be shrunk while it is decoded (AVIF; HEIF without a large enough
    stored thumbnail) ever needs to."""
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


# Formats libvips shrinks while it decodes: JPEG by DCT scaling and WebP at libwebp's
# reduced scale (both "shrink on load"), PNG and GIF a few lines at a time, so their
# full-size pixels are never all in memory at once. Not a CMYK JPEG: libvips would
# convert it to sRGB itself, and LittleCMS must, through its own profile (to_srgb). Not
# HEIF or AVIF: libvips decodes those whole to RGB (and the libvips wheel reads no HEVC).
LIBVIPS_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
LIBVIPS_SHRINKS_ON_LOAD = ("JPEG", "WEBP")
TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@functools.cache
def libvips() -> ModuleType:
    """pyvips, loaded on first use: libvips adds about 11 MB to a process, and only the
    processes that render (workers, avatar uploads) need it."""
    import pyvips  # loaded on first use, for the memory above

    # The operation cache would keep recent results (up to 100 MB of pixels) for a rerun
    # that never comes: each original is rendered once.
    pyvips.cache_set_max(0)
    logging.getLogger("pyvips").setLevel(logging.WARNING)  # it logs every step at INFO
    large_allocations_mapped()
    module: ModuleType = pyvips
    return module


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
# 4 MB, not 1: blocks between 1 and 4 MB (the encoders' per-size buffers, the smaller
# sizes' pixels) come from the heap and are reused from one encode to the next instead of
# being mapped and zeroed afresh each time: 1.5-3% less CPU a job (12 MP JPEG, 24 MP
# WebP; 4 fresh processes each, side by side), the same peaks (HEIC 207 MB over four
# jobs, WebP 184, 12 MP JPEG 197). At 16 MB the HEIC's peak drifted again (212 to 225).
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024


@functools.cache
def large_allocations_mapped() -> None:
    """Have glibc give every block of 4 MB or more its own mapping, returned to the system
    the moment it is freed, in the processes that render.

    By default glibc raises that threshold to the size of the largest block freed so far
    (up to 32 MB): after a first job, the decoders' planes and metadata come from the
    heap instead, where what one job freed and the next one needs do not line up, and a
    worker's peak drifted from job to job (a 24 MP HEIC: 207 to 233 MB; fixed, 204-206).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        pass  # not glibc


@functools.cache
def libc_malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        return trim
    except (OSError, AttributeError):
        return None  # not glibc: its allocator returns memory by itself, or not at all


def free_memory_return() -> None:
    """Give freed memory back to the system between the decode and the encodes.

    glibc keeps what a thread freed in that thread's own arena: what libvips' threads
    used to decode would stay resident while the AVIF encoder's threads allocate theirs
    (about 75 MB at 2048 px), and a job's peak would be the sum of the two, not the larger.
    """
    trim = libc_malloc_trim()
    if trim is not None:
        trim(0)


def libvips_shrunk(data: bytes, *, image_format: str, box: int, crop: bool = False) -> Image.Image:
    """The image in `data` fitted into a `box` px square (or cropped to fill it), never
    enlarged, not rotated, transparency flattened on white, as 8-bit Pillow pixels.
    Raises pyvips.Error when it cannot decode."""
    pyvips = libvips()
    # fail_on=truncated: a damaged file fails rather than rendering grey where its data ends.
    if image_format in LIBVIPS_SHRINKS_ON_LOAD:
        image = pyvips.Image.thumbnail_buffer(
            data, box, height=box, size="down", no_rotate=True, option_string="fail_on=truncated"
        )
    else:  # PNG, GIF: decoded a few lines at a time, each flattened before it is shrunk
        image = pyvips.Image.new_from_buffer(data, "", access="sequential", fail_on="truncated")
    if image.hasalpha():  # done here, at the smallest size, rather than on the full-size pixels later
        white = 65535 if image.format == "ushort" else 255
        image = image.flatten(background=[white] * (image.bands - 1))
    image = image.thumbnail_image(box, height=box, size="down", no_rotate=True, crop="centre" if crop else "none")
    if image.format != "uchar":  # 16-bit PNG: scaled to 8 bits, not clipped
        image = image.colourspace("srgb" if image.bands >= 3 else "b-w").cast("uchar")
    bands = 3 if image.bands >= 3 else 1
    if image.bands != bands:
        image = image.extract_band(0, n=bands)
    return Image.frombytes("RGB" if bands == 3 else "L", (int(image.width), int(image.height)), image.write_to_memory())


def whole_pixels_shrunk(
    pixels: object, *, size: tuple[int, int], stride: int, mode: str, box: int, crop: bool
) -> Image.Image:
    """Pixels a decoder made whole (8-bit L, RGB or RGBA rows, `stride` bytes apart),
    shrunk by libvips as it reads them: no second full-size copy, as Pillow would make."""
    bands = len(mode)
    if mode not in ("L", "RGB", "RGBA") or stride % bands:
        raise OSError(f"unexpected pixel layout {mode}")
    width, height = size
    whole = libvips().Image.new_from_memory(pixels, stride // bands, height, bands, "uchar")
    whole = whole.crop(0, 0, width, height).copy(interpretation="b-w" if bands == 1 else "srgb")
    shrunk = whole.thumbnail_image(box, height=box, size="down", no_rotate=True, crop="centre" if crop else "none")
    return Image.frombytes(mode, (int(shrunk.width), int(shrunk.height)), shrunk.write_to_memory())


def heif_shrunk(data: bytes, *, box: int, crop: bool) -> Image.Image:
    """A HEIF image decoded by libheif into one buffer (its tiles are not decoded apart)."""
    decoded = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
    return whole_pixels_shrunk(
        decoded.data, size=decoded.size, stride=decoded.stride, mode=decoded.mode, box=box, crop=crop
    )


def avif_shrunk(data: bytes, *, box: int, crop: bool) -> Image.Image:
    """An AVIF image decoded by libavif (dav1d) into one buffer.

    Through Pillow's decoder object directly: Image.open would copy the frame's 72 MB
    (at 24 MP) into an image of its own while holding the decoder's. One decode thread:
    a second one adds memory (about 6 MB at 24 MP) and the worker runs jobs side by side.
    """
    from PIL import _avif  # Pillow's own binding; its AvifImageFile offers no way around the copy

    decoder = _avif.AvifDecoder(data, "auto", 1)
    (width, height), _, mode, *_ = decoder.get_info()
    pixels = decoder.get_frame(0)[0]
    del decoder  # dav1d's own picture and state, before libvips reads the frame
    return whole_pixels_shrunk(pixels, size=(width, height), stride=width * len(mode), mode=mode, box=box, crop=crop)


# --- HEIF and AVIF handed to libvips as YCbCr planes -----------------------------------
# libheif and libavif decode to planes of Y, Cb and Cr (4:2:0 takes 1.5 bytes a pixel: 36
# MB at 24 MP), then convert those to one RGB buffer (72 MB more), which pillow-heif and
# Pillow's binding copy again. Through the libraries' C APIs (ctypes, on the copies
# pillow-heif's and Pillow's wheels ship) the planes go to libvips where they are: it
# shrinks each one (chroma from its own resolution) and only the shrunk image is
# converted to RGB, after the decoder is freed. So a 24 MP HEIC or AVIF holds its
# full-size pixels once, as 36 MB, instead of 108 to 180 MB. Shrinking before the
# conversion gives what shrinking after it does (the conversion is affine) but where a
# Lanczos overshoot is clipped: on photographs, under 1 level of 255 on average.
# Anything else (alpha, a matrix not below, RGB coding, an image no larger than the box,
# the libraries not found) goes the whole-RGB way above.

# Kr and Kb of the YCbCr matrices (H.273 MatrixCoefficients); as in libheif and libavif, an
# unspecified one is BT.601's.
YCBCR_KR_KB = {
    1: (0.2126, 0.0722),  # BT.709
    2: (0.299, 0.114),  # unspecified
    4: (0.30, 0.11),  # FCC
    5: (0.299, 0.114),  # BT.470BG
    6: (0.299, 0.114),  # BT.601
    7: (0.212, 0.087),  # SMPTE 240M
    9: (0.2627, 0.0593),  # BT.2020, non-constant luminance
}


class PlanesUnsupported(Exception):
    """These planes are not ones ycbcr_shrunk converts: decode to RGB instead."""


@dataclass(frozen=True)
class Plane:
    address: int
    stride: int  # bytes from one row to the next
    width: int
    height: int


def ycbcr_check(*, planes: int, depth: int, matrix: int) -> None:
    if matrix not in YCBCR_KR_KB or depth not in (8, 10, 12, 16) or planes not in (1, 3):
        raise PlanesUnsupported(f"matrix {matrix}, {depth} bits, {planes} planes")


def ycbcr_shrunk(planes: list[Plane], *, depth: int, box: int, crop: bool) -> Any:
    """Y (and Cb, Cr) planes of `depth` bits, each shrunk by libvips to fit (or with crop
    to fill) a `box` px square, as one libvips image in memory of its own: the decoder
    that holds the planes can be freed before anything else is made."""
    pyvips = libvips()
    sample_bytes = 1 if depth == 8 else 2
    luma = planes[0]

    def plane_image(plane: Plane) -> Any:
        buffer = (ctypes.c_uint8 * (plane.stride * plane.height)).from_address(plane.address)
        image = pyvips.Image.new_from_memory(
            buffer, plane.stride // sample_bytes, plane.height, 1, "uchar" if depth == 8 else "ushort"
        )
        return image.crop(0, 0, plane.width, plane.height)

    # Each plane shrunk by itself straight to the size (chroma from its own resolution),
    # then cropped: a 3-band full-size image for libvips to shrink would take twice the
    # memory and time.
    scale = box / (min if crop else max)(luma.width, luma.height)
    if scale >= 1:  # nothing to shrink: the decoder's own RGB, upsampled its way, is small enough
        raise PlanesUnsupported("not larger than the box")
    size = (max(1, round(luma.width * scale)), max(1, round(luma.height * scale)))
    bands = []
    for plane in planes:
        image = plane_image(plane)
        if (plane.width, plane.height) != size:  # with libvips' thumbnail kernels, keeping the bit depth
            image = image.resize(size[0] / plane.width, vscale=size[1] / plane.height)
            if (image.width, image.height) != size:  # a rounding apart
                image = image.embed(0, 0, size[0], size[1], extend="copy")
        bands.append(image)
    shrunk = bands[0].bandjoin(bands[1:]) if len(bands) == 3 else bands[0]
    if crop and max(size) > box:
        shrunk = shrunk.crop(
            (size[0] - min(box, size[0])) // 2, (size[1] - min(box, size[1])) // 2, min(box, size[0]), min(box, size[1])
        )
    return shrunk.copy_memory()


def ycbcr_to_rgb(shrunk: Any, *, depth: int, full_range: bool, matrix: int) -> Image.Image:
    """The image ycbcr_shrunk made, converted to 8-bit RGB with the `matrix` of H.273."""
    # To 0..255 RGB: Y' = (Y - black) * luma_scale, C' = (C - middle) * chroma_scale, then the matrix.
    step = 1 << (depth - 8)
    if full_range:
        black, luma_scale, chroma_scale = 0.0, 255 / ((1 << depth) - 1), 255 / ((1 << depth) - 1)
    else:
        black, luma_scale, chroma_scale = 16.0 * step, 255 / (219 * step), 255 / (224 * step)
    middle = 128.0 * step
    if shrunk.bands == 1:
        grey = shrunk.linear([luma_scale], [0.5 - black * luma_scale])
        rgb = grey.bandjoin([grey, grey])
    else:
        kr, kb = YCBCR_KR_KB[matrix]
        kg = 1 - kr - kb
        rows = [
            [1.0, 0.0, 2 * (1 - kr)],
            [1.0, -2 * kb * (1 - kb) / kg, -2 * kr * (1 - kr) / kg],
            [1.0, 2 * (1 - kb), 0.0],
        ]
        normalised = [[row[0] * luma_scale, row[1] * chroma_scale, row[2] * chroma_scale] for row in rows]
        offsets = [0.5 - black * n[0] - middle * (n[1] + n[2]) for n in normalised]
        rgb = shrunk.recomb(normalised).linear([1.0, 1.0, 1.0], offsets)
    rgb = rgb.cast("uchar")  # clipped to 0..255; the 0.5 above makes its truncation a rounding
    return Image.frombytes("RGB", (int(rgb.width), int(rgb.height)), rgb.write_to_memory())


class HeifError(ctypes.Structure):
    _fields_ = (("code", ctypes.c_int), ("subcode", ctypes.c_int), ("message", ctypes.c_char_p))


def first_library(
    candidates: list[Path | str | None], version_symbol: str, bind: Callable[[ctypes.CDLL], None]
) -> ctypes.CDLL | None:
    """The first of these shared libraries that loads, reports a 1.x version and has every
    symbol `bind` declares (a library of another build may lack one: then the next), or None."""
    for path in candidates:
        if not path:
            continue
        try:
            lib = ctypes.CDLL(str(path))
            version = getattr(lib, version_symbol)
            version.restype = ctypes.c_char_p
            if not version().startswith(b"1."):
                continue
            bind(lib)
        except (OSError, AttributeError):
            continue
        return lib
    return None


@functools.cache
def native_libheif() -> ctypes.CDLL | None:
    """pillow-heif's libheif (it reads HEVC; libvips' own does not), or None."""
    folder = Path(pillow_heif.__file__).resolve().parent.parent / "pillow_heif.libs"
    return first_library(
        [*sorted(folder.glob("libheif*.so*")), ctypes.util.find_library("heif")], "heif_get_version", _heif_bind
    )


def _heif_bind(lib: ctypes.CDLL) -> None:
    handle_p = ctypes.c_void_p
    lib.heif_context_alloc.restype = ctypes.c_void_p
    lib.heif_context_free.argtypes = (ctypes.c_void_p,)
    lib.heif_context_read_from_memory_without_copy.restype = HeifError
    lib.heif_context_read_from_memory_without_copy.argtypes = (
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_void_p,
    )
    lib.heif_context_get_primary_image_handle.restype = HeifError
    lib.heif_context_get_primary_image_handle.argtypes = (ctypes.c_void_p, ctypes.POINTER(handle_p))
    lib.heif_image_handle_has_alpha_channel.argtypes = (ctypes.c_void_p,)
    lib.heif_image_handle_release.argtypes = (ctypes.c_void_p,)
    lib.heif_decode_image.restype = HeifError
    lib.heif_decode_image.argtypes = (
        ctypes.c_void_p,
        ctypes.POINTER(handle_p),
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_void_p,
    )
    lib.heif_image_release.argtypes = (ctypes.c_void_p,)
    lib.heif_image_get_colorspace.argtypes = (ctypes.c_void_p,)
    lib.heif_image_get_chroma_format.argtypes = (ctypes.c_void_p,)
    for name in ("heif_image_get_width", "heif_image_get_height", "heif_image_get_bits_per_pixel_range"):
        getattr(lib, name).argtypes = (ctypes.c_void_p, ctypes.c_int)
    lib.heif_image_get_plane_readonly.restype = ctypes.c_void_p
    lib.heif_image_get_plane_readonly.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int))
    lib.heif_image_get_nclx_color_profile.restype = HeifError
    lib.heif_image_get_nclx_color_profile.argtypes = (ctypes.c_void_p, ctypes.POINTER(handle_p))
    lib.heif_nclx_color_profile_free.argtypes = (ctypes.c_void_p,)


def heif_checked(error: HeifError) -> None:
    if error.code:
        raise OSError((error.message or b"libheif error").decode(errors="replace"))


HEIF_COLORSPACE_YCBCR, HEIF_COLORSPACE_MONOCHROME = 0, 2
HEIF_CHANNEL_Y, HEIF_CHANNEL_CB, HEIF_CHANNEL_CR = 0, 1, 2
HEIF_UNDEFINED = 99  # colorspace and chroma: as decoded, no conversion


def heif_planes_shrunk(data: bytes, *, box: int, crop: bool) -> Image.Image:
    """A HEIF image's primary picture decoded by libheif into its own planes (its
    rotation and mirroring applied, as pillow-heif does), shrunk by ycbcr_shrunk."""
    lib = native_libheif()
    if lib is None:
        raise PlanesUnsupported("libheif not found")
    context = lib.heif_context_alloc()
    handle, image = ctypes.c_void_p(), ctypes.c_void_p()
    try:
        heif_checked(lib.heif_context_read_from_memory_without_copy(context, data, len(data), None))
        heif_checked(lib.heif_context_get_primary_image_handle(context, ctypes.byref(handle)))
        if lib.heif_image_handle_has_alpha_channel(handle):
            raise PlanesUnsupported("alpha")
        heif_checked(lib.heif_decode_image(handle, ctypes.byref(image), HEIF_UNDEFINED, HEIF_UNDEFINED, None))
        colorspace = lib.heif_image_get_colorspace(image)
        if colorspace not in (HEIF_COLORSPACE_YCBCR, HEIF_COLORSPACE_MONOCHROME):
            raise PlanesUnsupported(f"colour space {colorspace}")
        monochrome = colorspace == HEIF_COLORSPACE_MONOCHROME
        channels = (HEIF_CHANNEL_Y,) if monochrome else (HEIF_CHANNEL_Y, HEIF_CHANNEL_CB, HEIF_CHANNEL_CR)
        planes, depths = [], set()
        for channel in channels:
            stride = ctypes.c_int()
            address = lib.heif_image_get_plane_readonly(image, channel, ctypes.byref(stride))
            if not address:
                raise PlanesUnsupported(f"no plane {channel}")
            width, height = lib.heif_image_get_width(image, channel), lib.heif_image_get_height(image, channel)
            planes.append(Plane(address, stride.value, width, height))
            depths.add(lib.heif_image_get_bits_per_pixel_range(image, channel))
        # libheif's own default when the picture carries no nclx: BT.601, full range.
        matrix, full_range = 6, True
        nclx = ctypes.c_void_p()
        if not lib.heif_image_get_nclx_color_profile(image, ctypes.byref(nclx)).code and nclx.value:
            matrix = ctypes.c_int.from_address(nclx.value + 12).value  # after a uint8 version and two enums
            full_range = bool(ctypes.c_uint8.from_address(nclx.value + 16).value)
            lib.heif_nclx_color_profile_free(nclx)
        if len(depths) != 1:
            raise PlanesUnsupported(f"depths {depths}")
        depth = depths.pop()
        ycbcr_check(planes=len(planes), depth=depth, matrix=matrix)
        shrunk = ycbcr_shrunk(planes, depth=depth, box=box, crop=crop)
    finally:
        if image.value:
            lib.heif_image_release(image)
        if handle.value:
            lib.heif_image_handle_release(handle)
        lib.heif_context_free(context)
    return ycbcr_to_rgb(shrunk, depth=depth, full_range=full_range, matrix=matrix)


class AvifImage(ctypes.Structure):
    """The head of libavif's avifImage: its fields up to here are the same in every 1.x."""

    _fields_ = (
        ("width", ctypes.c_uint32),
        ("height", ctypes.c_uint32),
        ("depth", ctypes.c_uint32),
        ("yuv_format", ctypes.c_int),
        ("yuv_range", ctypes.c_int),
        ("yuv_chroma_sample_position", ctypes.c_int),
        ("yuv_planes", ctypes.c_void_p * 3),
        ("yuv_row_bytes", ctypes.c_uint32 * 3),
        ("image_owns_yuv_planes", ctypes.c_int),
        ("alpha_plane", ctypes.c_void_p),
        ("alpha_row_bytes", ctypes.c_uint32),
        ("image_owns_alpha_plane", ctypes.c_int),
        ("alpha_premultiplied", ctypes.c_int),
        ("icc_data", ctypes.c_void_p),
        ("icc_size", ctypes.c_size_t),
        ("color_primaries", ctypes.c_uint16),
        ("transfer_characteristics", ctypes.c_uint16),
        ("matrix_coefficients", ctypes.c_uint16),
    )


class AvifDecoder(ctypes.Structure):
    """The head of libavif's avifDecoder, the same in every 1.x."""

    _fields_ = (
        ("codec_choice", ctypes.c_int),
        ("max_threads", ctypes.c_int),
        ("requested_source", ctypes.c_int),
        ("allow_progressive", ctypes.c_int),
        ("allow_incremental", ctypes.c_int),
        ("ignore_exif", ctypes.c_int),
        ("ignore_xmp", ctypes.c_int),
        ("image_size_limit", ctypes.c_uint32),
        ("image_dimension_limit", ctypes.c_uint32),
        ("image_count_limit", ctypes.c_uint32),
        ("strict_flags", ctypes.c_uint32),
        ("image", ctypes.POINTER(AvifImage)),
    )


@functools.cache
def native_libavif() -> ctypes.CDLL | None:
    """Pillow's libavif (dav1d decodes), or None."""
    try:
        from PIL import _avif  # noqa: F401  loads Pillow's libavif into the process
    except ImportError:
        return None  # a Pillow built without AVIF: the whole-RGB path reads none either

    folder = Path(Image.__file__).resolve().parent.parent / "pillow.libs"
    return first_library(
        [*sorted(folder.glob("libavif*.so*")), ctypes.util.find_library("avif")], "avifVersion", _avif_bind
    )


def _avif_bind(lib: ctypes.CDLL) -> None:
    lib.avifDecoderCreate.restype = ctypes.POINTER(AvifDecoder)
    lib.avifDecoderDestroy.argtypes = (ctypes.POINTER(AvifDecoder),)
    lib.avifDecoderSetIOMemory.argtypes = (ctypes.POINTER(AvifDecoder), ctypes.c_char_p, ctypes.c_size_t)
    lib.avifDecoderParse.argtypes = (ctypes.POINTER(AvifDecoder),)
    lib.avifDecoderNextImage.argtypes = (ctypes.POINTER(AvifDecoder),)
    lib.avifResultToString.restype = ctypes.c_char_p


AVIF_STRICT_PIXI_REQUIRED, AVIF_STRICT_CLAP_VALID = 1, 2
AVIF_PIXEL_FORMAT_YUV400 = 4
AVIF_CHROMA_SHIFTS = {1: (0, 0), 2: (1, 0), 3: (1, 1), 4: (0, 0)}  # 4:4:4, 4:2:2, 4:2:0, 4:0:0


def avif_planes_shrunk(data: bytes, *, box: int, crop: bool) -> Image.Image:
    """An AVIF image's frame decoded by libavif (dav1d, one thread) and shrunk from its
    own planes by ycbcr_shrunk. Not rotated: Pillow reads the rotation into the EXIF."""
    lib = native_libavif()
    if lib is None:
        raise PlanesUnsupported("libavif not found")
    decoder = lib.avifDecoderCreate()
    if not decoder:
        raise MemoryError("libavif could not make a decoder")
    try:
        decoder.contents.max_threads = 1
        # As Pillow's decoder: files without 'pixi' or with a bad 'clap' are read.
        decoder.contents.strict_flags &= ~(AVIF_STRICT_PIXI_REQUIRED | AVIF_STRICT_CLAP_VALID)
        result = (  # the first step's error, if any (AVIF_RESULT_OK is 0)
            lib.avifDecoderSetIOMemory(decoder, data, len(data))
            or lib.avifDecoderParse(decoder)
            or lib.avifDecoderNextImage(decoder)
        )
        if result:
            raise OSError(lib.avifResultToString(result).decode(errors="replace"))
        image = decoder.contents.image.contents
        if image.alpha_plane:
            raise PlanesUnsupported("alpha")
        if image.yuv_format == AVIF_PIXEL_FORMAT_YUV400:
            channels = [0]
        else:
            channels = [0, 1, 2]
        if image.yuv_format not in AVIF_CHROMA_SHIFTS:
            raise PlanesUnsupported(f"pixel format {image.yuv_format}")
        shift_x, shift_y = AVIF_CHROMA_SHIFTS[image.yuv_format]
        planes = [
            Plane(
                image.yuv_planes[channel],
                image.yuv_row_bytes[channel],
                image.width if channel == 0 else (image.width + shift_x) >> shift_x,
                image.height if channel == 0 else (image.height + shift_y) >> shift_y,
            )
            for channel in channels
        ]
        depth, full_range, matrix = image.depth, bool(image.yuv_range), image.matrix_coefficients
        ycbcr_check(planes=len(planes), depth=depth, matrix=matrix)
        shrunk = ycbcr_shrunk(planes, depth=depth, box=box, crop=crop)
    finally:
        lib.avifDecoderDestroy(decoder)
    return ycbcr_to_rgb(shrunk, depth=depth, full_range=full_range, matrix=matrix)


def pillow_shrunk(original: Image.Image, *, box: int, crop: bool) -> Image.Image:
    """The original (after any draft) decoded and at once shrunk to fit a `box` px square,
    or with crop to fill it: no full-size copy of it is ever made (rotation and colour
    conversion come after, on the small image)."""
    original.load()
    image = original if original.mode in ("L", "LA", "RGB", "RGBA", "CMYK") else original.convert("RGBA")
    scale = box / (min if crop else max)(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if crop:
        image = ImageOps.fit(image, (min(box, image.width), min(box, image.height)))
    image.info = dict(original.info)  # the colour profile, for to_srgb
    return image


def oriented(image: Image.Image, orientation: object) -> Image.Image:
    method = TRANSPOSE_FOR_ORIENTATION.get(orientation) if isinstance(orientation, int) else None
    if method is None:
        return image
    info = image.info
    image = image.transpose(method)
    image.info = info
    return image


def shrunk_original(data: bytes, *, box: int, crop: bool = False) -> tuple[Image.Image, tuple[int, int]]:
    """The original in `data`, oriented, in sRGB, fitted into (or with crop, cropped to
    fill) a `box` px square; and its full-size oriented dimensions.

    Peak memory: JPEG, PNG, GIF and WebP never hold their full-size pixels (libvips); a
    CMYK JPEG holds them at the smallest 1/2, 1/4 or 1/8 scale that still covers `box`;
    HEIF and AVIF hold them once, as their decoder's YCbCr planes (heif_planes_shrunk,
    avif_planes_shrunk), and nothing else at that size.
    Raises UploadRejected over the pixel limit, OSError and the like when undecodable.
    """
    decoded_whole = ""  # HEIF or AVIF, when decoded at full size: not before Pillow's file is closed
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as original:
            pixels_check(*original.size)
            raw_w, raw_h = original.size
            # Pillow decodes a whole PNG to look for EXIF after its pixels: only the usual
            # place, before them, is read (as check_image_upload does).
            exif_without_decoding = original.format != "PNG" or "exif" in original.info
            orientation = original.getexif().get(ExifTags.Base.Orientation, 1) if exif_without_decoding else 1
            full_size = (raw_h, raw_w) if orientation in (5, 6, 7, 8) else (raw_w, raw_h)
            if original.format in LIBVIPS_FORMATS and original.mode != "CMYK":
                try:
                    image = libvips_shrunk(data, image_format=str(original.format), box=box, crop=crop)
                except libvips().Error as error:
                    raise OSError(str(error).strip().splitlines()[-1]) from None
                image.info = {"icc_profile": original.info["icc_profile"]} if "icc_profile" in original.info else {}
            else:
                scale = min(1, box / (min if crop else max)(raw_w, raw_h))
                needed = (max(1, math.ceil(raw_w * scale)), max(1, math.ceil(raw_h * scale)))
                if original.format == "JPEG":
                    original.draft("RGB", needed)  # keeps both sides at least `needed`
                    image = pillow_shrunk(original, box=box, crop=crop)
                # A stored thumbnail at least as large, if the file has one (phones store small ones).
                elif (original.format == "HEIF" and original.draft(None, needed) is None) or original.format == "AVIF":
                    decoded_whole, info = str(original.format), dict(original.info)
                else:
                    image = pillow_shrunk(original, box=box, crop=crop)
        if decoded_whole:  # after Pillow has let go of its copy of the file and its parsed decoder
            del original  # which the closed image still holds
            try:
                try:
                    planes_shrunk = heif_planes_shrunk if decoded_whole == "HEIF" else avif_planes_shrunk
                    image = planes_shrunk(data, box=box, crop=crop)
                except (PlanesUnsupported, OSError):
                    # Also when the native decode itself failed (a system libheif without the
                    # HEVC decoder, say): the bindings' own path decides, and names a bad file.
                    image = (heif_shrunk if decoded_whole == "HEIF" else avif_shrunk)(data, box=box, crop=crop)
            except libvips().Error as error:
                raise OSError(str(error).strip().splitlines()[-1]) from None
            image.info = info
    # A centred crop commutes with the rotations and flips, so orienting after it is the same.
    return to_srgb(oriented(image, orientation)), full_size


def rgb_resized(pixels: bytes, *, size: tuple[int, int], width: int, height: int) -> tuple[Image.Image, bytes]:
    """RGB `pixels` of `size` (packed rows, as Image.tobytes() gives them) shrunk by libvips
    to exactly width x height (a box shrink by the whole factor, then a Lanczos 3 reduce;
    the same pixels as Pillow's LANCZOS with its reducing gap within a level or so), as a
    Pillow image and as packed rows again, from which the next size is made: Pillow's
    tobytes() takes 13 ms of CPU at 2048 px and 5 at 1280, for each size it is asked.

    Pillow's resize took 76 ms of CPU for a 12 MP photo's three smaller sizes against
    libvips' 19, the largest difference between our job and pyvips making the same files:
    the whole job is 9-13% less CPU (0.39-0.41 s instead of 0.43-0.47)."""
    whole = libvips().Image.new_from_memory(pixels, size[0], size[1], 3, "uchar")
    smaller = whole.thumbnail_image(width, height=height, size="force").write_to_memory()
    return Image.frombytes("RGB", (width, height), smaller), smaller


def render_renditions(
    source: IO[bytes], *, formats: tuple[OutputFormat, ...] = OUTPUT_FORMATS
) -> tuple[list[RenderedImage], str]:
    """Make every rendition of an original, and its placeholder colour.

    Memory and speed: the original is shrunk to the largest size while it is decoded
    (shrunk_original), and each size is made from the next larger one.
    """
    large_allocations_mapped()  # before the first decode
    try:
        data = source.read()
        # Never enlarged, so a smaller original comes back at its own size: no header
        # parse of its own first (for a HEIC, pillow-heif copies and parses the whole file).
        image, (full_w, full_h) = shrunk_original(data, box=max(RENDITION_SIZES))
        del data
        free_memory_return()
    except UploadRejected as error:
        raise RenditionFailed(str(error)) from None
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise RenditionFailed("The stored file is not an image we can read.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise RenditionFailed(f"The image could not be decoded ({error}).") from None

    rendered: list[RenderedImage] = []
    current, pixels = image, b""  # the current size's packed rows, once libvips has made it
    for size, width, height in reversed(rendition_target_sizes(width=full_w, height=full_h)):
        if current.size != (width, height):
            current, pixels = rgb_resized(pixels or current.tobytes(), size=current.size, width=width, height=height)
        for output in formats:
            if size >= output.min_size:
                buffer = io.BytesIO()
                current.save(buffer, output.pillow_name, **output.options)
                rendered.append(RenderedImage(size, output.name, width, height, buffer.getvalue()))
    # The average colour as "#rrggbb", from the smallest size (the same average within a
    # level, for 1/40 of the 2048 px image's pixels); RGB, so its one pixel is three bytes.
    placeholder = "#" + current.resize((1, 1), Image.Resampling.BOX).tobytes().hex()
    rendered.sort(key=lambda item: (item.size, item.format))
    del image, current, pixels
    free_memory_return()  # and what the encoders' threads freed, or each job in a worker would start higher
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

    In the web process, so never decoded at full size where the format allows: a JPEG at
    the smallest 1/2, 1/4 or 1/8 scale that still covers the square, a PNG, GIF or WebP
    shrunk by libvips as it decodes, a HEIF from a stored thumbnail when it has one large
    enough. Others (AVIF, a HEIF without one) only within PHOTO_WEB_DECODE_MAX_PIXELS.
    Raises UploadRejected with a message for the person.
    """
    checked = check_image_upload(upload=upload, size=size)
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if not avatar_decodes_small(data, checked) and not within_web_decode_budget(checked.width, checked.height):
        megapixels = settings.PHOTO_WEB_DECODE_MAX_PIXELS / 1_000_000
        raise UploadRejected(
            gettext(
                "A profile picture in this format can have at most %(megapixels)s megapixels; a JPEG can be larger."
            )
            % {"megapixels": f"{megapixels:g}"}
        )
    try:
        square, _ = shrunk_original(data, box=AVATAR_SIZE, crop=True)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UploadRejected(gettext("The image is damaged or incomplete (%(error)s).") % {"error": error}) from None
    if square.size != (AVATAR_SIZE, AVATAR_SIZE):
        square = ImageOps.fit(square, (AVATAR_SIZE, AVATAR_SIZE))  # a picture smaller than the square
    output = io.BytesIO()
    square.save(output, "WEBP", quality=85)
    return output.getvalue()


def avatar_decodes_small(data: bytes, checked: CheckedImage) -> bool:
    """Whether shrunk_original reads this picture without decoding it at full size."""
    if checked.format in ("JPEG", *LIBVIPS_FORMATS):
        return True
    if checked.format != "HEIF":
        return False
    with Image.open(io.BytesIO(data), formats=("HEIF",)) as image:
        return image.draft(None, (AVATAR_SIZE, AVATAR_SIZE)) is not None

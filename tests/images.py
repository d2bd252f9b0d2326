"""Image files for tests, made on the fly: good ones, tagged ones and hostile ones."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image

from apps.photos.demo_images import landscape


def jpeg_bytes(width: int = 1600, height: int = 1200, *, seed: int = 1, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    kwargs = {"exif": exif.tobytes()} if exif is not None else {}
    landscape(width=width, height=height, seed=seed).save(buffer, "JPEG", quality=90, **kwargs)
    return buffer.getvalue()


def camera_exif(*, orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: camera, orientation and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Model] = "TC-1"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Artist] = "Someone Private"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    return exif


def png_bytes(width: int = 800, height: int = 600, *, mode: str = "RGBA") -> bytes:
    buffer = io.BytesIO()
    image = landscape(width=width, height=height, seed=3).convert(mode)
    image.save(buffer, "PNG")
    return buffer.getvalue()


def webp_bytes(width: int = 900, height: int = 600) -> bytes:
    buffer = io.BytesIO()
    landscape(width=width, height=height, seed=4).save(buffer, "WEBP", quality=80)
    return buffer.getvalue()


def truncated_jpeg_bytes() -> bytes:
    data = jpeg_bytes(1200, 900)
    return data[: len(data) // 2]


def decompression_bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG that claims 900 megapixels: a valid header and a few compressed rows."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" + b"\x00" * width, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")

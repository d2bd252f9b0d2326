"""Image files for tests, made on the fly: good ones, tagged ones and hostile ones."""

from __future__ import annotations

import io
import itertools
import struct
import zlib
from collections.abc import Sequence

from PIL import ExifTags, Image, PngImagePlugin

from apps.photos.demo_images import landscape

# Each file made here differs from every other (a numbered JPEG comment, same pixels): the
# site refuses a second upload of one person's same bytes, and tests upload many "photo.jpg"s.
_file_numbers = itertools.count()


def jpeg_bytes(width: int = 1600, height: int = 1200, *, seed: int = 1, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    kwargs: dict[str, bytes] = {"exif": exif.tobytes()} if exif is not None else {}
    kwargs["comment"] = f"photosite test file {next(_file_numbers)}".encode()
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
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", f"photosite test file {next(_file_numbers)}")
    image.save(buffer, "PNG", pnginfo=text)
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


def flat_png_bytes(width: int = 7000, height: int = 7000) -> bytes:
    """A complete, valid greyscale PNG of one flat colour: 7000 x 7000 (49 megapixels, under
    the 50 MP limit) is a 47 KB file that decodes to 49 MB. Written row by row, so making
    it never holds the pixels either."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte, then the pixels
    compressed = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", compressed) + chunk(b"IEND", b"")


# --- Colour: flat patches to sample, and a CMYK press profile ---------------------

PATCH = 400  # pixels; flat squares survive JPEG and resizing, so their centres can be compared


def patches_image(colours: Sequence[tuple[int, ...]], *, mode: str = "RGB", columns: int = 4) -> Image.Image:
    """A grid of flat squares, one per colour, left to right and top to bottom."""
    rows = -(-len(colours) // columns)
    image = Image.new(mode, (columns * PATCH, rows * PATCH))
    for index, colour in enumerate(colours):
        left, top = (index % columns) * PATCH, (index // columns) * PATCH
        image.paste(colour, (left, top, left + PATCH, top + PATCH))
    return image


def patch_centres(size: tuple[int, int], count: int, *, columns: int = 4) -> list[tuple[int, int]]:
    """Where each patch's centre lands in an image of `size` made from patches_image()."""
    rows = -(-count // columns)
    scale_x, scale_y = size[0] / (columns * PATCH), size[1] / (rows * PATCH)
    return [
        (int(((index % columns) + 0.5) * PATCH * scale_x), int(((index // columns) + 0.5) * PATCH * scale_y))
        for index in range(count)
    ]


def patch_colours(image: Image.Image, count: int, *, columns: int = 4) -> list[tuple[int, int, int]]:
    """The RGB colour at each patch's centre in `image` (made from patches_image(), maybe resized)."""
    colours = []
    for centre in patch_centres(image.size, count, columns=columns):
        pixel = image.getpixel(centre)
        assert isinstance(pixel, tuple) and len(pixel) == 3, f"not an RGB image: {image.mode}"
        colours.append((int(pixel[0]), int(pixel[1]), int(pixel[2])))
    return colours


def _lab_d50(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """CIE L*a*b* (D50, the ICC connection space) of an sRGB colour given as 0-255 floats."""

    def linear(channel: float) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in rgb)
    # sRGB to XYZ, adapted to D50 (Bradford).
    x = 0.4360747 * red + 0.3850649 * green + 0.1430804 * blue
    y = 0.2225045 * red + 0.7168786 * green + 0.0606169 * blue
    z = 0.0139322 * red + 0.0971045 * green + 0.7141733 * blue

    def f(ratio: float) -> float:
        return ratio ** (1 / 3) if ratio > (6 / 29) ** 3 else ratio / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = f(x / 0.9642), f(y / 1.0), f(z / 0.8249)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def cmyk_press_profile() -> bytes:
    """An ICC v2 CMYK profile of a made-up press printing on warm, cream paper.

    Debian's free profile packages ship no CMYK profile, so this one is built here: a
    lut16 A2B0 table from ink amounts to L*a*b*. Its inks are those of a real press,
    duller than the pure ones Pillow assumes for untagged CMYK, so an image read
    through it differs visibly from the same image read untagged.
    """
    paper = (246.0, 234.0, 206.0)

    def printed(cyan: int, magenta: int, yellow: int, black: int) -> tuple[float, float, float]:
        red, green, blue = paper
        red *= 1 - 0.88 * cyan - 0.05 * magenta
        green *= 1 - 0.85 * magenta - 0.12 * cyan
        blue *= 1 - 0.9 * yellow - 0.2 * magenta
        ink_black = 1 - 0.94 * black
        return (max(0.0, red * ink_black), max(0.0, green * ink_black), max(0.0, blue * ink_black))

    def lab16(lab: tuple[float, float, float]) -> bytes:
        lightness, a, b = lab
        encode = [round(lightness * 652.8), round((a + 128) * 256), round((b + 128) * 256)]
        return struct.pack(">3H", *(min(65535, max(0, value)) for value in encode))

    grid = [(c, m, y, k) for c in (0, 1) for m in (0, 1) for y in (0, 1) for k in (0, 1)]  # first input slowest
    identity = struct.pack(">9i", 65536, 0, 0, 0, 65536, 0, 0, 0, 65536)
    a2b0 = (
        b"mft2"
        + b"\0" * 4
        + struct.pack(">BBBB", 4, 3, 2, 0)
        + identity
        + struct.pack(">HH", 2, 2)
        + struct.pack(">2H", 0, 65535) * 4  # input curves: linear
        + b"".join(lab16(_lab_d50(printed(*node))) for node in grid)
        + struct.pack(">2H", 0, 65535) * 3  # output curves: linear
    )
    text = b"photosite test press, cream paper\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 12 + b"\0" * 67
    white = b"XYZ " + b"\0" * 4 + struct.pack(">3i", round(0.9642 * 65536), 65536, round(0.8249 * 65536))
    copyright_text = b"text" + b"\0" * 4 + b"No copyright, test data\0"
    tags = [(b"desc", desc), (b"wtpt", white), (b"cprt", copyright_text), (b"A2B0", a2b0)]

    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)  # tag data starts on 4-byte boundaries
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"prtr"
        + b"CMYK"
        + b"Lab "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + struct.pack(">3i", round(0.9642 * 65536), 65536, round(0.8249 * 65536))
        + b"\0" * 48  # creator, profile id, reserved
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body

"""Checking uploads in the web process (apps/photos/imaging.py) at a bounded cost in memory:
no image is decoded whole there (a JPEG at 1/8 scale, others by their header and, for a
PNG, its checksums), and avatars are decoded at a reduced size. test_imaging_memory.py
measures what a rendition job and an avatar take."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pillow_heif
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageChops, ImageFile, ImageStat
from pillow_heif import from_pillow
from rest_framework.test import APIClient

from apps.photos.imaging import AVATAR_SIZE, avatar_render, check_image_upload, render_renditions, shrunk_original
from apps.photos.models import Photo
from apps.photos.uploads import UploadRejected
from tests.images import decompression_bomb_png, flat_png_bytes, jpeg_bytes, png_bytes, webp_bytes


@pytest.fixture
def decoded_sizes(monkeypatch) -> Iterator[list[tuple[int, int]]]:
    """The size of every image whose pixels Pillow decodes (after any draft reduction)."""
    sizes: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def recording_load(image: ImageFile.ImageFile) -> object:
        sizes.append(image.size)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    yield sizes


def check(data: bytes):  # -> CheckedImage
    return check_image_upload(upload=io.BytesIO(data), size=len(data))


def test_a_47_kb_png_of_49_megapixels_is_accepted_without_decoding_its_pixels(decoded_sizes, settings) -> None:
    data = flat_png_bytes(7000, 7000)
    assert len(data) < 50_000
    checked = check(data)
    assert (checked.format, checked.width, checked.height) == ("PNG", 7000, 7000)
    assert all(width * height <= settings.PHOTO_WEB_DECODE_MAX_PIXELS for width, height in decoded_sizes)


def test_a_png_over_the_budget_is_still_refused_when_truncated_or_corrupt(settings) -> None:
    settings.PHOTO_WEB_DECODE_MAX_PIXELS = 10_000
    data = png_bytes(400, 300)
    with pytest.raises(UploadRejected, match="damaged or incomplete"):
        check(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # one byte inside the pixel data: its chunk's checksum fails
    with pytest.raises(UploadRejected, match="damaged or incomplete"):
        check(bytes(flipped))


def test_no_upload_is_decoded_whole_to_check_it_and_a_damaged_png_is_still_refused(decoded_sizes) -> None:
    heic = io.BytesIO()
    from_pillow(Image.new("RGB", (400, 300), "green")).save(heic, quality=50)
    gif = io.BytesIO()
    Image.new("RGB", (400, 300), "red").save(gif, "GIF")
    for data, image_format in ((png_bytes(400, 300), "PNG"), (webp_bytes(400, 300), "WEBP"), (heic.getvalue(), "HEIF")):
        assert check(data).format == image_format
    assert check(gif.getvalue()).format == "GIF"
    assert decoded_sizes == []
    damaged = png_bytes(400, 300)
    with pytest.raises(UploadRejected, match="damaged or incomplete"):
        check(damaged[: len(damaged) // 2])


def test_a_jpeg_is_checked_at_one_eighth_of_its_size(decoded_sizes) -> None:
    assert check(jpeg_bytes(1600, 1200)).format == "JPEG"
    assert decoded_sizes == [(200, 150)]


def test_an_avatar_from_a_big_jpeg_is_decoded_at_a_reduced_size(decoded_sizes) -> None:
    data = jpeg_bytes(4000, 3000)
    picture = Image.open(io.BytesIO(avatar_render(upload=io.BytesIO(data), size=len(data))))
    assert picture.size == (AVATAR_SIZE, AVATAR_SIZE)
    # The check decodes at 1/8; the crop at the smallest scale still covering 256 x 256 (1/8 too).
    assert decoded_sizes and max(width * height for width, height in decoded_sizes) <= 500 * 375


def test_an_avatar_from_a_big_png_or_webp_never_holds_its_full_size_pixels_in_pillow(decoded_sizes) -> None:
    """libvips shrinks them while it decodes: Pillow only ever gets the 256 px square."""
    for data in (png_bytes(2400, 1600), webp_bytes(2400, 1600)):
        picture = Image.open(io.BytesIO(avatar_render(upload=io.BytesIO(data), size=len(data))))
        assert picture.size == (AVATAR_SIZE, AVATAR_SIZE)
    assert decoded_sizes == []  # Pillow decoding them would record (2400, 1600)


def test_an_avatar_over_the_budget_in_a_format_decoded_only_whole_is_refused(settings) -> None:
    settings.PHOTO_WEB_DECODE_MAX_PIXELS = 100_000
    big, small = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (400, 300), "teal").save(big, "AVIF")
    Image.new("RGB", (300, 300), "teal").save(small, "AVIF")
    with pytest.raises(UploadRejected) as refusal:
        avatar_render(upload=big, size=len(big.getvalue()))
    assert str(refusal.value) == (
        "A profile picture in this format can have at most 0.1 megapixels; a JPEG can be larger."
    )
    assert avatar_render(upload=small, size=len(small.getvalue()))  # within the budget: fine


def test_a_decompression_bomb_avatar_is_refused_before_any_pixel_is_decoded(decoded_sizes) -> None:
    data = decompression_bomb_png()
    with pytest.raises(UploadRejected, match="too many pixels"):
        avatar_render(upload=io.BytesIO(data), size=len(data))
    assert decoded_sizes == []


def test_the_upload_page_accepts_the_49_megapixel_png_and_leaves_decoding_to_the_worker(
    logged_in_client, bucket, decoded_sizes, settings
) -> None:
    upload = io.BytesIO(flat_png_bytes(7000, 7000))
    upload.name = "flat.png"
    response = logged_in_client.post(reverse("photo_upload"), {"file": upload, "visibility": "public"})
    assert response.status_code == 302
    photo = Photo.objects.get()
    assert (photo.original_format, photo.original_width, photo.original_height) == ("PNG", 7000, 7000)
    assert all(width * height <= settings.PHOTO_WEB_DECODE_MAX_PIXELS for width, height in decoded_sizes)


def test_a_decompression_bomb_gets_a_400_from_the_api_and_the_profile_page_and_nothing_is_stored(
    client, user, bucket, decoded_sizes
) -> None:
    """A 40 KB PNG that declares 900 megapixels: refused by its header, never decoded."""
    api = APIClient()
    api.force_authenticate(user)
    bomb = SimpleUploadedFile("bomb.png", decompression_bomb_png(), content_type="image/png")
    response = api.post("/api/v1/photos/", {"file": bomb, "title": "boom"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The image has too many pixels; the limit is 50 megapixels."

    client.force_login(user)
    name_before = user.display_name
    bomb = SimpleUploadedFile("me.png", decompression_bomb_png(), content_type="image/png")
    response = client.post(reverse("profile_edit"), {"display_name": "Boom", "bio": "", "avatar": bomb})
    assert response.status_code == 400
    assert "The image has too many pixels; the limit is 50 megapixels." in response.content.decode()
    user.refresh_from_db()
    assert (user.display_name, user.avatar_key) == (name_before, "")  # the whole edit refused, no avatar
    assert Photo.objects.count() == 0 and bucket.keys() == [] and decoded_sizes == []


def test_a_heic_avatar_is_made_from_its_stored_thumbnail_whatever_its_size(decoded_sizes, settings) -> None:
    """Phones store a small thumbnail in every HEIC: the avatar needs no more, so the
    budget for whole decodes does not apply to it (without one, it would be refused)."""
    settings.PHOTO_WEB_DECODE_MAX_PIXELS = 100_000
    heic = io.BytesIO()
    from_pillow(Image.new("RGB", (1200, 800), "teal")).save(heic, quality=30, thumbnails=[400])
    picture = Image.open(io.BytesIO(avatar_render(upload=heic, size=len(heic.getvalue()))))
    assert picture.size == (AVATAR_SIZE, AVATAR_SIZE)
    assert set(decoded_sizes) == {(400, 266)}  # only the thumbnail, never the 1200 x 800 image


def test_an_avif_original_is_rendered_upright_flattened_on_white_and_never_decoded_whole_by_pillow(
    decoded_sizes,
) -> None:
    """libavif's frame goes to libvips to be shrunk: Image.open would copy all of it again."""
    picture = Image.new("RGBA", (1600, 1200), (0, 0, 0, 0))
    picture.paste((255, 0, 0, 255), (0, 0, 1600, 600))  # the top half red, the bottom transparent
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: shown rotated a quarter turn clockwise
    original = io.BytesIO()
    picture.save(original, "AVIF", exif=exif, quality=90)
    rendered, _ = render_renditions(io.BytesIO(original.getvalue()))
    largest = next(item for item in rendered if item.size == 2048 and item.format == "jpg")
    assert (largest.width, largest.height) == (1200, 1600)
    shown = Image.open(io.BytesIO(largest.data)).convert("RGB")
    red, white = shown.getpixel((900, 800)), shown.getpixel((300, 800))  # the top is now on the right
    assert isinstance(red, tuple) and isinstance(white, tuple)
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    assert min(white) > 230
    assert (1600, 1200) not in decoded_sizes


def colourful_picture(width: int = 1200, height: int = 800) -> Image.Image:
    """Saturated gradients and a photograph-like texture: where a YCbCr matrix, range or
    chroma plane read wrong would show."""
    ramp = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40).convert("L")
    across = ramp.rotate(90).resize((width, height))
    return Image.merge("RGB", (ramp, Image.blend(ramp.transpose(Image.Transpose.ROTATE_180), noise, 0.3), across))


@pytest.mark.parametrize(
    ("image_format", "bit_depth", "options"),
    [
        ("HEIF", 8, {}),  # 4:2:0, BT.601, full range: what phones and libheif write
        ("HEIF", 8, {"matrix_coefficients": 1, "full_range_flag": 0}),  # BT.709, video range
        ("HEIF", 8, {"chroma": 444}),
        ("HEIF", 10, {}),
        ("AVIF", 8, {}),
        ("AVIF", 8, {"subsampling": "4:2:2"}),
        ("AVIF", 8, {"subsampling": "4:4:4", "range": "limited"}),
        ("AVIF", 8, {"subsampling": "4:0:0"}),
    ],
)
def test_a_heic_or_avif_is_shown_in_the_colours_its_own_decoder_gives_whatever_its_coding(
    image_format: str, bit_depth: int, options: dict[str, object]
) -> None:
    """A HEIC or AVIF larger than the box is shrunk from its YCbCr planes, before libvips
    converts it to RGB (a 24 MP one would otherwise hold 72 MB more): what a person sees
    must still be what libheif's and libavif's own RGB shows, shrunk."""
    picture = colourful_picture()
    original = io.BytesIO()
    if image_format == "HEIF" and bit_depth == 10:  # 16-bit samples, which pillow-heif writes as 10-bit
        wide = bytes(byte for value in picture.tobytes() for byte in (0, value))
        pillow_heif.from_bytes("RGB;16", picture.size, wide).save(original, quality=90, **options)
    elif image_format == "HEIF":
        from_pillow(picture).save(original, quality=90, **options)
    else:
        picture.save(original, "AVIF", quality=90, **options)
    data = original.getvalue()
    with Image.open(io.BytesIO(data)) as decoded:  # the decoder's own RGB, at full size
        reference = decoded.convert("RGB")
    for box in (2048, 500):  # as it is (decoded to RGB), and shrunk (from the planes)
        shown, _ = shrunk_original(data, box=box)
        expected = reference.resize(shown.size, Image.Resampling.LANCZOS) if box < 1200 else reference
        difference = ImageStat.Stat(ImageChops.difference(shown, expected)).mean
        assert max(difference) < 1.5, (box, difference)  # levels of 255, on average: not to be seen

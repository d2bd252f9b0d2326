"""Colour profiles in apps/photos/imaging.py: every rendition is sRGB, as browsers assume.

A photo tagged with a wider colour space (Adobe RGB here) or a press profile (CMYK)
must look on the site as LittleCMS (ImageCms) converts it, not as if its numbers were
sRGB; a photo whose profile is broken still renders, as if it had none. The originals
are grids of flat patches, so each patch's centre can be compared after JPEG and
resizing.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat

from apps.photos.imaging import render_renditions
from tests.images import cmyk_press_profile, patch_colours, patches_image

# Debian's icc-profiles-free (compose/local/ensure-services.sh installs it).
ADOBE_RGB = Path("/usr/share/color/icc/compatibleWithAdobeRGB1998.icc")
# Mid-saturation colours: Adobe RGB and sRGB read the same numbers as visibly different colours.
RGB_PATCHES = [
    (60, 160, 80),
    (200, 60, 50),
    (50, 90, 190),
    (220, 200, 60),
    (128, 128, 128),
    (240, 240, 240),
    (20, 20, 20),
    (90, 200, 210),
    (180, 90, 170),
    (255, 140, 0),
    (0, 120, 60),
    (140, 100, 70),
]
CMYK_PATCHES = [
    (0, 0, 0, 0),  # paper
    (255, 0, 0, 0),  # cyan
    (0, 255, 0, 0),  # magenta
    (0, 0, 255, 0),  # yellow
    (0, 0, 0, 255),  # black
    (255, 0, 255, 0),  # cyan + yellow: green
    (0, 255, 255, 0),  # magenta + yellow: red
    (255, 255, 0, 0),  # cyan + magenta: blue
    (128, 64, 32, 16),
    (40, 130, 200, 0),
    (30, 30, 30, 100),
    (200, 180, 170, 60),
]
# JPEG at quality 85 on flat patches, after resizing: a few levels per channel.
TOLERANCE = 4


def jpeg_of(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, **options)
    return buffer.getvalue()


def jpeg_renditions(data: bytes) -> tuple[list[Image.Image], str]:
    """The JPEG renditions the pipeline makes of `data` (all sizes), and its placeholder colour."""
    rendered, placeholder = render_renditions(io.BytesIO(data))
    images = []
    for item in rendered:
        if item.format == "jpg":
            image = Image.open(io.BytesIO(item.data))
            assert image.size == (item.width, item.height)
            assert "icc_profile" not in image.info, "a rendition is sRGB and says nothing else"
            images.append(image.convert("RGB"))
    assert [image.size for image in images] == [(320, 240), (640, 480), (1280, 960), (1600, 1200)]
    return images, placeholder


def far_apart(first: tuple[int, ...], second: tuple[int, ...]) -> int:
    return max(abs(a - b) for a, b in zip(first, second, strict=True))


def assert_patches_match(renditions: list[Image.Image], expected: list[tuple[int, int, int]]) -> None:
    wrong = [
        f"{rendition.size} patch {index}: {shown} instead of {wanted}"
        for rendition in renditions
        for index, (shown, wanted) in enumerate(zip(patch_colours(rendition, len(expected)), expected, strict=True))
        if far_apart(shown, wanted) > TOLERANCE
    ]
    assert not wrong, "\n".join(wrong)


def hex_colour(text: str) -> tuple[int, int, int]:
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)


def to_srgb_with(image: Image.Image, profile: ImageCms.ImageCmsProfile) -> Image.Image:
    """ImageCms's own conversion: the reference the pipeline's renditions must match."""
    converted = ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    assert converted is not None
    return converted


def test_an_adobe_rgb_photo_is_shown_as_littlecms_converts_it_to_srgb() -> None:
    adobe = ImageCms.getOpenProfile(str(ADOBE_RGB))
    data = jpeg_of(patches_image(RGB_PATCHES), icc_profile=adobe.tobytes())
    with Image.open(io.BytesIO(data)) as original:
        original.load()
        untagged = patch_colours(original, len(RGB_PATCHES))
        reference_image = to_srgb_with(original, adobe)
    reference = patch_colours(reference_image, len(RGB_PATCHES))
    # The test image is one where ignoring the profile would show: most patches move.
    assert sum(far_apart(a, b) > 15 for a, b in zip(untagged, reference, strict=True)) >= 6

    renditions, placeholder = jpeg_renditions(data)

    assert_patches_match(renditions, reference)
    average = tuple(round(channel) for channel in ImageStat.Stat(reference_image).mean)
    assert far_apart(hex_colour(placeholder), average) <= 2, (placeholder, average)


def test_a_cmyk_jpeg_with_a_press_profile_is_converted_through_that_profile() -> None:
    press = cmyk_press_profile()
    press_profile = ImageCms.ImageCmsProfile(io.BytesIO(press))
    data = jpeg_of(patches_image(CMYK_PATCHES, mode="CMYK"), icc_profile=press)
    with Image.open(io.BytesIO(data)) as original:
        original.load()
        assert original.mode == "CMYK"
        untagged = patch_colours(original.convert("RGB"), len(CMYK_PATCHES))
        reference = patch_colours(to_srgb_with(original, press_profile), len(CMYK_PATCHES))
    assert sum(far_apart(a, b) > 15 for a, b in zip(untagged, reference, strict=True)) >= 6

    renditions, _ = jpeg_renditions(data)

    assert_patches_match(renditions, reference)


def test_an_untagged_cmyk_jpeg_shows_its_inks_the_right_way_round() -> None:
    """Photoshop-style (inverted) CMYK JPEGs: paper must not come out black, nor ink white."""
    data = jpeg_of(patches_image(CMYK_PATCHES, mode="CMYK"))

    renditions, _ = jpeg_renditions(data)

    for rendition in renditions:
        paper, cyan, magenta, yellow, black, green, red, blue = patch_colours(rendition, len(CMYK_PATCHES))[:8]
        assert min(paper) >= 250, f"paper {paper}"
        assert max(black) <= 10, f"black ink {black}"
        for name, colour, dark, light in (
            ("cyan", cyan, [0], [1, 2]),
            ("magenta", magenta, [1], [0, 2]),
            ("yellow", yellow, [2], [0, 1]),
            ("green", green, [0, 2], [1]),
            ("red", red, [1, 2], [0]),
            ("blue", blue, [0, 1], [2]),
        ):
            assert all(colour[i] <= 10 for i in dark) and all(colour[i] >= 245 for i in light), f"{name} {colour}"


@pytest.mark.parametrize(
    "profile",
    [b"this is not an ICC profile " * 20, ADOBE_RGB.read_bytes()[:300]],
    ids=["garbage", "truncated"],
)
def test_a_photo_with_a_broken_profile_still_renders_as_if_untagged(profile: bytes) -> None:
    image = patches_image(RGB_PATCHES)
    tagged = jpeg_of(image, icc_profile=profile)
    with Image.open(io.BytesIO(tagged)) as original:
        assert original.info["icc_profile"] == profile  # the broken profile really is in the file

    renditions, placeholder = jpeg_renditions(tagged)
    untagged_renditions, untagged_placeholder = jpeg_renditions(jpeg_of(image))

    for rendition, untagged in zip(renditions, untagged_renditions, strict=True):
        assert ImageChops.difference(rendition, untagged).getbbox() is None, f"{rendition.size} differs from untagged"
    assert placeholder == untagged_placeholder
    assert_patches_match(renditions, RGB_PATCHES)

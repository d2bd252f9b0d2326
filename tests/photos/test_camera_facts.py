"""The camera facts a photo page shows, read from EXIF by apps/photos/imaging.py."""

from __future__ import annotations

from PIL import ExifTags, Image

from apps.photos.imaging import camera_facts_from


def exif_with(**values: object) -> Image.Exif:
    exif = Image.Exif()
    details = exif.get_ifd(ExifTags.IFD.Exif)
    for name, value in values.items():
        details[getattr(ExifTags.Base, name)] = value
    return exif


def test_one_malformed_exposure_value_hides_only_itself() -> None:
    facts = camera_facts_from(exif_with(ExposureTime="garbage", FNumber=2.8, FocalLength=50.0, ISOSpeedRatings=400))
    assert facts == {"aperture": "f/2.8", "focal_length": "50 mm", "iso": "400"}


def test_zero_exposure_broken_aperture_and_empty_iso_leave_the_focal_length() -> None:
    facts = camera_facts_from(exif_with(ExposureTime=0.0, FNumber="f/x", FocalLength=35.0, ISOSpeedRatings=()))
    assert facts == {"focal_length": "35 mm"}


def test_well_formed_values_are_shown_as_a_photographer_writes_them() -> None:
    facts = camera_facts_from(exif_with(ExposureTime=1 / 250, FNumber=4.0, FocalLength=85.0, ISOSpeedRatings=(200,)))
    assert facts == {"exposure": "1/250 s", "aperture": "f/4", "focal_length": "85 mm", "iso": "200"}


def test_values_no_camera_writes_are_skipped_not_shown_as_nan_or_negative() -> None:
    from PIL.TiffImagePlugin import IFDRational

    # 1/0 (Pillow reads it as NaN), 0/0, an infinity and negatives: each dropped alone.
    facts = camera_facts_from(
        exif_with(
            ExposureTime=IFDRational(1, 0), FNumber=IFDRational(0, 0), FocalLength=float("inf"), ISOSpeedRatings=-5
        )
    )
    assert facts == {}
    facts = camera_facts_from(
        exif_with(ExposureTime=IFDRational(1, 0), FNumber=-2.0, FocalLength=35.0, ISOSpeedRatings=100)
    )
    assert facts == {"focal_length": "35 mm", "iso": "100"}

"""apps/photos/services.py against the real S3 server (SeaweedFS) and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageStat

from apps.photos import imaging, services, uploads
from apps.photos.models import Photo, PhotoStatus, Rendition
from tests.factories import uploaded_photo
from tests.images import (
    camera_exif,
    decompression_bomb_png,
    jpeg_bytes,
    patch_colours,
    patches_image,
    png_bytes,
    truncated_jpeg_bytes,
    webp_bytes,
)


def check(data: bytes) -> imaging.CheckedImage:
    return imaging.check_image_upload(upload=io.BytesIO(data), size=len(data))


@pytest.mark.parametrize(
    ("data", "expected_format"),
    [(jpeg_bytes(640, 480), "JPEG"), (png_bytes(640, 480), "PNG"), (webp_bytes(640, 480), "WEBP")],
)
def test_allowed_formats_are_accepted_with_their_size(data: bytes, expected_format: str) -> None:
    checked = check(data)
    assert (checked.format, checked.width, checked.height) == (expected_format, 640, 480)
    assert len(checked.sha256) == 64


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"%PDF-1.4 not a picture at all", "not a JPEG, PNG, WebP, HEIC, AVIF or GIF image"),
        (truncated_jpeg_bytes(), "damaged or incomplete"),
        (decompression_bomb_png(), "too many pixels"),
    ],
    ids=["empty", "not-an-image", "truncated-jpeg", "decompression-bomb"],
)
def test_bad_uploads_are_rejected_with_a_readable_reason(data: bytes, message: str) -> None:
    with pytest.raises(uploads.UploadRejected, match=message):
        check(data)


def assert_colour_near(hex_colour: str, expected: tuple[int, int, int], *, tolerance: int = 2) -> None:
    """`#rrggbb` within `tolerance` levels per channel of `expected` (palettes and JPEG round a little)."""
    shown = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    assert max(abs(a - b) for a, b in zip(shown, expected, strict=True)) <= tolerance, (hex_colour, expected)


def test_gif_gives_its_first_frame_and_heic_is_read() -> None:
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "blue")]
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    rendered, placeholder = imaging.render_renditions(io.BytesIO(buffer.getvalue()))
    assert_colour_near(placeholder, (255, 0, 0))  # red, the first frame (not blue, the second)
    assert (rendered[0].width, rendered[0].height) == (64, 48)

    from pillow_heif import from_pillow

    heic = io.BytesIO()
    from_pillow(Image.new("RGB", (400, 300), "green")).save(heic, quality=80)
    checked = check(heic.getvalue())
    assert (checked.format, checked.width, checked.height, checked.extension) == ("HEIF", 400, 300, "heic")


def test_camera_facts_are_read_from_a_whitelist_and_gps_is_not() -> None:
    exif = camera_exif()
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.ExposureTime] = 0.004
    details[ExifTags.Base.FNumber] = 2.8
    details[ExifTags.Base.ISOSpeedRatings] = 400
    details[ExifTags.Base.FocalLength] = 35.0
    details[ExifTags.Base.LensModel] = "TC 35mm"
    details[ExifTags.Base.DateTimeOriginal] = "2025:06:01 18:45:10"
    checked = check(jpeg_bytes(640, 480, exif=exif))
    assert checked.camera_facts == {
        "make": "TestCam",
        "model": "TC-1",
        "lens": "TC 35mm",
        "exposure": "1/250 s",
        "aperture": "f/2.8",
        "focal_length": "35 mm",
        "iso": "400",
        "taken_at": "2025-06-01 18:45",
    }
    assert "52" not in str(checked.camera_facts) and "Someone Private" not in str(checked.camera_facts)


def test_byte_limit_is_enforced_before_decoding(settings) -> None:
    settings.PHOTO_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(uploads.UploadRejected, match="the limit is"):
        check(jpeg_bytes(640, 480))


def test_pixel_limit_is_configurable(settings) -> None:
    settings.PHOTO_MAX_PIXELS = 640 * 480 - 1
    with pytest.raises(uploads.UploadRejected, match="too many pixels"):
        check(jpeg_bytes(640, 480))


def test_rendition_sizes_never_upscale_and_skip_duplicates() -> None:
    assert imaging.rendition_target_sizes(width=4000, height=3000) == [
        (320, 320, 240),
        (640, 640, 480),
        (1280, 1280, 960),
        (2048, 2048, 1536),
    ]
    # 1000 px wide: 320 and 640 scaled, then one full-size rendition, nothing larger.
    assert imaging.rendition_target_sizes(width=1000, height=500) == [
        (320, 320, 160),
        (640, 640, 320),
        (1280, 1000, 500),
    ]
    assert imaging.rendition_target_sizes(width=100, height=300) == [(320, 100, 300)]


def test_renditions_follow_exif_orientation_and_carry_no_metadata() -> None:
    # Stored 1600x1200 with "rotate 90° clockwise" (6): people see it 1200x1600.
    data = jpeg_bytes(1600, 1200, exif=camera_exif(orientation=6))
    rendered, placeholder = imaging.render_renditions(io.BytesIO(data))
    assert [(r.size, r.format, r.width, r.height) for r in rendered] == [
        (320, "avif", 240, 320),
        (320, "jpg", 240, 320),
        (640, "avif", 480, 640),
        (640, "jpg", 480, 640),
        (1280, "avif", 960, 1280),
        (1280, "jpg", 960, 1280),
        (2048, "avif", 1200, 1600),
        (2048, "jpg", 1200, 1600),
    ]
    with Image.open(io.BytesIO(data)) as original:
        average = ImageStat.Stat(original.convert("RGB")).mean
    assert_colour_near(placeholder, (round(average[0]), round(average[1]), round(average[2])))
    for item in rendered:
        with Image.open(io.BytesIO(item.data)) as image:
            assert image.format == {"jpg": "JPEG", "avif": "AVIF"}[item.format]
            assert image.size == (item.width, item.height)
            assert dict(image.getexif()) == {}
            assert "exif" not in image.info and "icc_profile" not in image.info
            assert ExifTags.IFD.GPSInfo not in image.getexif()


def test_transparent_png_is_flattened_on_white() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (400, 300), (255, 0, 0, 0)).save(buffer, "PNG")
    rendered, placeholder = imaging.render_renditions(io.BytesIO(buffer.getvalue()))
    with Image.open(io.BytesIO(rendered[0].data)) as image:
        assert image.mode == "RGB"
        pixel = image.getpixel((10, 10))
        assert isinstance(pixel, tuple)
        red, green, blue = pixel
        assert min(red, green, blue) > 245  # white, not black
    assert placeholder == "#ffffff"


def test_photo_create_stores_the_original_and_records_it(user, bucket) -> None:
    data = jpeg_bytes(1600, 1200)
    photo = uploaded_photo(owner=user, data=data, name="sunset_over-hills.jpg", title="")
    assert photo.title == "sunset over hills"
    assert photo.status == PhotoStatus.PROCESSING
    assert (photo.original_width, photo.original_height, photo.original_bytes) == (1600, 1200, len(data))
    assert bucket.keys() == [photo.original.name]
    assert bucket.get(photo.original.name) == data


def test_rejected_upload_leaves_no_row_and_no_object(user, bucket) -> None:
    upload = SimpleUploadedFile("bad.jpg", truncated_jpeg_bytes(), content_type="image/jpeg")
    with pytest.raises(uploads.UploadRejected):
        services.photo_create(owner=user, upload=upload, title="broken")
    assert Photo.objects.count() == 0
    assert bucket.keys() == []


def test_photo_create_queues_renditions_only_after_commit(
    user, bucket, django_capture_on_commit_callbacks, broker_redis
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        photo = uploaded_photo(owner=user)
        assert broker_redis.hlen("dramatiq:renditions.msgs") == 0  # nothing before the commit
    for callback in callbacks:
        callback()
    # The message sits in the Redis queue for a worker, naming the photo by id.
    queued = broker_redis.hgetall("dramatiq:renditions.msgs")
    assert len(queued) == 1
    assert f'"args":[{photo.pk}]' in next(iter(queued.values())).decode()


def test_making_renditions_stores_each_size_and_marks_ready(user, bucket) -> None:
    photo = uploaded_photo(owner=user, data=jpeg_bytes(3000, 2000))
    services.rendition_make_all(photo_id=photo.pk)
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.READY
    renditions = list(photo.renditions.order_by("size", "format"))
    assert [(r.size, r.format, r.width, r.height) for r in renditions] == [
        (320, "avif", 320, 213),
        (320, "jpg", 320, 213),
        (640, "avif", 640, 427),
        (640, "jpg", 640, 427),
        (1280, "avif", 1280, 853),
        (1280, "jpg", 1280, 853),
        (2048, "avif", 2048, 1365),
        (2048, "jpg", 2048, 1365),
    ]
    for rendition in renditions:
        stored = bucket.get(rendition.file.name)
        assert len(stored) == rendition.bytes
        with Image.open(io.BytesIO(stored)) as image:
            assert image.size == (rendition.width, rendition.height)


PHONE_COLOURS = [(200, 60, 50), (60, 160, 80), (50, 90, 190), (230, 210, 70), (128, 128, 128), (245, 245, 245)]


def heic_bytes(image: Image.Image) -> bytes:
    from pillow_heif import from_pillow

    buffer = io.BytesIO()
    from_pillow(image).save(buffer, quality=90)
    return buffer.getvalue()


def avif_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "AVIF", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "encode", "stored_format"),
    [("IMG_0001.heic", heic_bytes, "HEIF"), ("IMG_0002.avif", avif_bytes, "AVIF")],
    ids=["heic", "avif"],
)
def test_heic_and_avif_uploads_are_rendered_at_every_size_in_their_colours(
    user, bucket, name, encode, stored_format
) -> None:
    """Phones upload HEIC and AVIF; browsers get JPEG and AVIF renditions of them."""
    data = encode(patches_image(PHONE_COLOURS, columns=3))  # 1200 x 800
    with Image.open(io.BytesIO(data)) as original:
        decoded = original.convert("RGB")
    expected = patch_colours(decoded, len(PHONE_COLOURS), columns=3)

    photo = uploaded_photo(owner=user, data=data, name=name)
    assert (photo.original_format, photo.original_width, photo.original_height) == (stored_format, 1200, 800)
    services.rendition_make_all(photo_id=photo.pk)
    photo.refresh_from_db()

    assert photo.status == PhotoStatus.READY
    renditions = list(photo.renditions.order_by("size", "format"))
    assert [(r.size, r.format, r.width, r.height) for r in renditions] == [
        (320, "avif", 320, 213),
        (320, "jpg", 320, 213),
        (640, "avif", 640, 427),
        (640, "jpg", 640, 427),
        (1280, "avif", 1200, 800),
        (1280, "jpg", 1200, 800),
    ]
    for rendition in renditions:
        with Image.open(io.BytesIO(bucket.get(rendition.file.name))) as stored:
            assert stored.format == {"jpg": "JPEG", "avif": "AVIF"}[rendition.format]
            assert stored.size == (rendition.width, rendition.height)
            shown = stored.convert("RGB")
        for colour, wanted in zip(patch_colours(shown, len(PHONE_COLOURS), columns=3), expected, strict=True):
            assert max(abs(a - b) for a, b in zip(colour, wanted, strict=True)) <= 4, (rendition.file.name, colour)
    red, green, blue = ImageStat.Stat(decoded).mean
    assert_colour_near(photo.placeholder_color, (round(red), round(green), round(blue)))


def test_making_renditions_twice_changes_nothing(user, bucket) -> None:
    photo = uploaded_photo(owner=user)
    services.rendition_make_all(photo_id=photo.pk)
    first = list(Rendition.objects.values_list("id", "file", "bytes").order_by("size"))
    keys = bucket.keys()
    # Forced rerun (as after a crash between storing and recording).
    Photo.objects.filter(pk=photo.pk).update(status=PhotoStatus.PROCESSING)
    services.rendition_make_all(photo_id=photo.pk)
    assert list(Rendition.objects.values_list("id", "file", "bytes").order_by("size")) == first
    assert bucket.keys() == keys
    assert Photo.objects.get(pk=photo.pk).status == PhotoStatus.READY


def test_unreadable_original_marks_the_photo_failed_with_a_reason(user, bucket) -> None:
    photo = uploaded_photo(owner=user)
    # The stored object was damaged after upload (a bad disk, a partial copy).
    bucket.client.put_object(Bucket=bucket.name, Key=photo.original.name, Body=b"garbage")
    services.rendition_make_all(photo_id=photo.pk)
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.FAILED
    assert "not an image" in photo.failure_reason


def test_renditions_for_a_deleted_photo_do_nothing(user, bucket) -> None:
    photo = uploaded_photo(owner=user)
    services.photo_delete(photo_id=photo.pk)
    services.rendition_make_all(photo_id=photo.pk)
    assert Rendition.objects.count() == 0


def test_deleting_a_photo_removes_the_row_at_once_and_objects_by_job(
    user, bucket, django_capture_on_commit_callbacks, broker_redis
) -> None:
    photo = uploaded_photo(owner=user)
    services.rendition_make_all(photo_id=photo.pk)
    assert len(bucket.keys()) == 9  # original + 4 sizes in JPEG and in AVIF
    names = [photo.original.name, *photo.renditions.values_list("file", flat=True)]
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo_id=photo.pk)
    assert not Photo.objects.filter(pk=photo.pk).exists()
    (message,) = broker_redis.hgetall("dramatiq:maintenance.msgs").values()  # the cleanup job, queued on commit
    assert '"actor_name":"delete_stored_files"' in message.decode()
    assert all(name in message.decode() for name in names)
    services.stored_files_delete(names=names)  # what that job runs
    assert bucket.keys() == []
    services.stored_files_delete(names=names)  # and running it again is harmless


def _run_queued_cleanup(broker_redis) -> None:
    """Run the delete_stored_files jobs waiting in Redis, as a worker would."""
    import json

    from apps.photos.tasks import delete_stored_files

    for raw in broker_redis.hgetall("dramatiq:maintenance.msgs").values():
        message = json.loads(raw)
        if message["actor_name"] == "delete_stored_files":
            delete_stored_files.fn(*message["args"])
    broker_redis.flushdb()


def test_making_a_photo_private_puts_its_renditions_behind_signatures_and_back(
    user, bucket, broker_redis, django_capture_on_commit_callbacks
) -> None:
    import requests

    photo = uploaded_photo(owner=user)
    services.rendition_make_all(photo_id=photo.pk)
    public_urls = [rendition.url for rendition in photo.renditions.all()]
    assert all("Signature=" not in url and requests.get(url, timeout=10).status_code == 200 for url in public_urls)

    with django_capture_on_commit_callbacks(execute=True):
        services.photo_update(photo=photo, title="Now private", caption="", alt_text="", visibility="private")
    _run_queued_cleanup(broker_redis)
    renditions = list(photo.renditions.all())
    assert all(str(rendition.file.name).startswith("private/renditions/") for rendition in renditions)
    for rendition in renditions:
        assert requests.get(rendition.url, timeout=10).status_code == 200  # signed, for the owner's page
        assert requests.get(rendition.url.split("?")[0], timeout=10).status_code == 403
    assert all(requests.get(url, timeout=10).status_code in (403, 404) for url in public_urls)
    assert bucket.keys("public/") == []

    with django_capture_on_commit_callbacks(execute=True):
        services.photo_update(photo=photo, title="Public again", caption="", alt_text="", visibility="public")
    _run_queued_cleanup(broker_redis)
    assert sorted(rendition.url for rendition in photo.renditions.all()) == sorted(public_urls)
    assert bucket.keys("private/renditions/") == []
    assert all(requests.get(url, timeout=10).status_code == 200 for url in public_urls)


def test_photos_left_processing_by_a_restart_are_queued_again(
    user, bucket, broker_redis, django_capture_on_commit_callbacks
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from photosite.models import OutboxMessage

    stuck = uploaded_photo(owner=user, title="Stuck since yesterday")
    Photo.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(days=1))
    OutboxMessage.objects.all().delete()  # its job was relayed to the in-memory broker, which the restart lost
    uploaded_photo(owner=user, title="Just uploaded, has its own job")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photo_requeue_unfinished(before=timezone.now() - timedelta(minutes=1)) == 1
    (message,) = broker_redis.hgetall("dramatiq:renditions.msgs").values()
    assert f'"args":[{stuck.pk}]' in message.decode()


def test_the_reaper_queues_photos_stuck_in_processing_once_per_period(user, bucket) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.photos.tasks import requeue_stuck_photos
    from photosite.models import OutboxMessage

    stuck = uploaded_photo(owner=user, title="Its job was lost")
    Photo.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(minutes=20))
    OutboxMessage.objects.all().delete()  # relayed long ago, then lost with a flushed broker
    uploaded_photo(owner=user, title="Uploaded a moment ago")
    waiting_before = OutboxMessage.objects.count()

    requeue_stuck_photos()
    assert OutboxMessage.objects.count() == waiting_before + 1
    assert OutboxMessage.objects.filter(dedupe_key=f"make_renditions:{stuck.pk}").exists()
    Photo.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(minutes=20))
    requeue_stuck_photos()
    assert OutboxMessage.objects.count() == waiting_before + 1, "its job still waits: not queued twice"
    OutboxMessage.objects.filter(dedupe_key=f"make_renditions:{stuck.pk}").delete()  # relayed
    requeue_stuck_photos()
    assert OutboxMessage.objects.count() == waiting_before, "asked again only a period later"

"""`renditions_rebuild` after a pipeline change, with a real maintenance worker: photos stay
ready and visible with their old renditions until the new ones exist; the old files stay
for pages that still link them until their grace period is up, then the sweep removes them
(tests/photos/test_rendition_grace.py has the grace period's own cases)."""

from __future__ import annotations

import io
import re
import threading
from datetime import timedelta
from pathlib import Path

import requests
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from PIL import Image

from apps.photos.imaging import PIPELINE_VERSION
from apps.photos.models import Photo, PhotoStatus, Rendition, SupersededFile
from apps.photos.services import rendition_make_all, superseded_files_sweep
from photosite.storage import object_copy, object_delete, object_save
from tests.conftest import WorkerProcess
from tests.factories import ready_photo, uploaded_photo
from tests.images import jpeg_bytes

OLD, NEW = f"-v{PIPELINE_VERSION - 1}-", f"-v{PIPELINE_VERSION}-"


def as_made_by_the_previous_pipeline(photo: Photo) -> list[str]:
    """Give a photo the renditions an older PIPELINE_VERSION made (their keys say which)."""
    for rendition in photo.renditions.all():
        current = str(rendition.file.name)
        old = current.replace(NEW, OLD)
        object_copy(current, old)
        object_delete(current)
        rendition.file.name = old
        rendition.save(update_fields=["file"])
    return [rendition.url for rendition in photo.renditions.all()]


def rebuild(*args: str) -> str:
    out = io.StringIO()
    call_command("renditions_rebuild", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_pipeline_rebuild_keeps_every_photo_visible_and_ends_with_new_renditions(
    user, bucket, broker_redis, transactional_db, tmp_path: Path, settings
) -> None:
    photos = [ready_photo(user, title=f"Photo {index}") for index in range(3)]
    old_urls = {photo.pk: as_made_by_the_previous_pipeline(photo) for photo in photos}
    anonymous = Client()

    # Queued, no worker yet: nothing changes for visitors.
    assert "3 photo(s) need renditions." in rebuild("--no-wait")
    for photo in photos:
        photo.refresh_from_db()
        assert photo.status == PhotoStatus.READY
        page = anonymous.get(f"/photos/{photo.pk}/").content.decode()
        assert OLD in page and NEW not in page
        assert all(requests.get(url, timeout=10).status_code == 200 for url in old_urls[photo.pk][:2])

    statuses_seen: set[str] = set()
    done = threading.Event()

    def watch() -> None:
        from django.db import connection

        while not done.is_set():
            statuses_seen.update(Photo.objects.filter(pk__in=[p.pk for p in photos]).values_list("status", flat=True))
            done.wait(0.05)
        connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    worker = WorkerProcess(tmp_path / "worker.log", queues=("maintenance",))
    worker.start()
    try:
        # Following the workers, two at a time (the jobs the first run queued may run twice: harmless).
        report = rebuild("--batch-size", "2", "--window", "2", "--stall-seconds", "60")
        assert "Done: 3 photo(s) re-rendered in place." in report, worker.log()
    finally:
        done.set()
        watcher.join()
        worker.stop()
    assert statuses_seen == {PhotoStatus.READY}, "a photo left the site during the rebuild"
    for photo in photos:
        renditions = list(photo.renditions.all())
        assert len(renditions) == len(old_urls[photo.pk])
        assert all(NEW in str(rendition.file.name) for rendition in renditions)
        assert all(requests.get(rendition.url, timeout=10).status_code == 200 for rendition in renditions)
        # A page made before its rebuild, still open somewhere, still shows its pictures.
        assert all(requests.get(url, timeout=10).status_code == 200 for url in old_urls[photo.pk])
    assert "0 photo(s) need renditions." in rebuild("--dry-run")

    # Once the grace period is up, the hourly sweep removes every old file and forgets them.
    past_grace = timezone.now() + timedelta(seconds=settings.PHOTOS_SUPERSEDED_GRACE_SECONDS + 1)
    assert superseded_files_sweep(now=past_grace) == sum(len(urls) for urls in old_urls.values())
    assert not any(OLD in key for key in bucket.keys("public/renditions/"))
    assert all(requests.get(url, timeout=10).status_code in (403, 404) for urls in old_urls.values() for url in urls)
    assert not SupersededFile.objects.exists()


def as_made_by_pipeline_2(photo: Photo) -> None:
    """Pipeline 2's set under its own keys: WebP at every size, AVIF only from 1280 px."""
    for rendition in photo.renditions.filter(format="avif", size__lt=1280):
        object_delete(str(rendition.file.name))
        rendition.delete()
    for jpeg in photo.renditions.filter(format="jpg"):
        with Image.open(jpeg.file.open("rb")) as image:
            buffer = io.BytesIO()
            image.save(buffer, "WEBP", quality=80)
        name = object_save(str(jpeg.file.name).removesuffix(".jpg") + ".webp", buffer.getvalue())
        Rendition.objects.create(
            photo=photo,
            size=jpeg.size,
            format="webp",
            file=name,
            width=jpeg.width,
            height=jpeg.height,
            bytes=len(buffer.getvalue()),
        )
    as_made_by_the_previous_pipeline(photo)


def sources_of(page: str, mime_type: str) -> list[str]:
    """The URLs in the srcsets of a page's <source type=mime_type> elements."""
    srcsets = re.findall(rf'<source type="{mime_type}" srcset="([^"]*)"', page)
    return [entry.split()[0] for srcset in srcsets for entry in srcset.split(", ")]


def test_a_photo_still_with_webp_renditions_offers_them_until_its_rebuild_makes_avif(
    user, bucket, broker_redis, django_capture_on_commit_callbacks
) -> None:
    photo = uploaded_photo(owner=user, title="Kept", data=jpeg_bytes(1600, 1200))
    rendition_make_all(photo_id=photo.pk)
    as_made_by_pipeline_2(photo)
    cache.clear()  # the rows were changed behind the services' backs
    anonymous = Client()

    # Not rebuilt yet: its grid card and page offer its WebP (and its large AVIF), then JPEG.
    card = anonymous.get("/").content.decode()
    webp = sources_of(card, "image/webp")
    assert [url.rsplit("-", 1)[-1] for url in webp] == ["320.webp", "640.webp"] and not sources_of(card, "image/avif")
    assert all(requests.get(url, timeout=10).headers["Content-Type"] == "image/webp" for url in webp)
    page = anonymous.get(f"/photos/{photo.pk}/").content.decode()
    assert sources_of(page, "image/avif") and sources_of(page, "image/webp") and ".jpg" in page

    with django_capture_on_commit_callbacks(execute=True):
        assert "1 photo(s) need renditions." in rebuild("--inline")
    card = anonymous.get("/").content.decode()
    avif = sources_of(card, "image/avif")
    assert [url.rsplit("-", 1)[-1] for url in avif] == ["320.avif", "640.avif"] and NEW in avif[0]
    assert "image/webp" not in card and ".webp" not in anonymous.get(f"/photos/{photo.pk}/").content.decode()
    assert not photo.renditions.filter(format="webp").exists()

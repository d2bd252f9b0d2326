"""Takedowns reach every copy: after a hide, a switch to private or a delete, the photo's old
public rendition URLs stop answering, from the bucket and from the nginx cache in front
(compose/production/nginx, as `make stack` runs it), by a real worker's maintenance job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from apps.accounts.models import User
from apps.photos import services
from apps.photos.models import Photo, Visibility
from photosite.storage import object_list
from tests import nginx
from tests.conftest import WorkerProcess, wait_for
from tests.factories import UserFactory, ready_photo


class Nginx:
    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, public_url: str) -> requests.Response:
        """A visitor's GET of a public URL, through this nginx instead of straight from S3."""
        return requests.get(self.url + urlsplit(public_url).path, timeout=10)


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[Nginx]:
    """The production nginx.conf, in front of this run's SeaweedFS (as `make stack` renders it)."""
    bucket = os.environ["S3_BUCKET"]
    with nginx.nginx_in_front(
        tmp_path,
        media=urlsplit(os.environ["S3_ENDPOINT_URL"]).netloc,
        edit=lambda conf: conf.replace("/photosite/", f"/{bucket}/"),
    ) as url:
        yield Nginx(url)


def _public_urls(photo: Photo) -> list[str]:
    urls = [rendition.url for rendition in photo.renditions.all()]
    assert urls and all(urlsplit(url).path.split("/")[2] == "public" for url in urls)
    return urls


def test_hide_private_and_delete_take_the_public_urls_down_in_s3_and_nginx_within_seconds(
    user: User, bucket, broker_redis, transactional_db, tmp_path: Path, nginx_in_front: Nginx
) -> None:
    moderator = UserFactory(is_staff=True)
    hidden, private, deleted = (ready_photo(user, title=title) for title in ("Hidden", "Private", "Deleted"))
    kept = ready_photo(user, title="Untouched")
    urls = {photo.title: _public_urls(photo) for photo in (hidden, private, deleted, kept)}
    for photo_urls in urls.values():
        for url in photo_urls[:2]:
            assert requests.get(url, timeout=10).status_code == 200
            assert nginx_in_front.get(url).status_code == 200
            cached = nginx_in_front.get(url)
            assert cached.status_code == 200 and cached.headers["X-Cache-Status"] == "HIT"
    originals = {photo.title: photo.original.name for photo in (hidden, private)}

    worker = WorkerProcess(
        tmp_path / "worker.log",
        MEDIA_PURGE_BACKEND="nginx",
        MEDIA_PURGE_NGINX_URLS=nginx_in_front.url,
    )
    worker.start()
    try:
        started = time.monotonic()
        services.photo_hide(photo=hidden, moderator=moderator, reason="Reported: spam")
        services.photo_update(photo=private, title="Private", caption="", alt_text="", visibility=Visibility.PRIVATE)
        services.photo_delete(photo_id=deleted.pk)
        taken_down = [url for title in ("Hidden", "Private", "Deleted") for url in urls[title]]

        def all_gone() -> bool:
            return all(requests.get(url, timeout=10).status_code in (403, 404) for url in taken_down) and all(
                nginx_in_front.get(url).status_code in (403, 404) for url in taken_down
            )

        wait_for(all_gone, timeout=30, what=f"the old public URLs to stop answering; worker log:\n{worker.log()}")
        took = time.monotonic() - started
    finally:
        worker.stop()
    assert took < 15, f"the takedown took {took:.1f} s"

    # Nothing of the people's own is lost: the originals stay, and the owner still sees the
    # hidden and the private photo, through signed URLs of their renditions' new keys.
    stored = {key for key, _ in object_list("private/")}
    assert set(originals.values()) <= stored
    for photo in (hidden, private):
        photo.refresh_from_db()
        for rendition in photo.renditions.all():
            assert str(rendition.file.name).startswith("private/renditions/")
            assert requests.get(rendition.url, timeout=10).status_code == 200
    assert not Photo.objects.filter(pk=deleted.pk).exists()
    # The untouched photo's copies stay where they were, cached.
    assert all(nginx_in_front.get(url).headers["X-Cache-Status"] == "HIT" for url in urls["Untouched"][:2])

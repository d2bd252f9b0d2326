"""Pages link public renditions by a plain join of the public base and the key
(photosite/storage.py, media_url): the same address django-storages builds, never a
signature, and never for a private key."""

from __future__ import annotations

import requests
from rest_framework.test import APIClient

from apps.photos.models import Visibility, stored_name
from photosite.storage import media_url, media_urls, public_storage
from tests.factories import ready_photo


def test_public_renditions_are_linked_at_the_backends_own_address_unsigned(user, bucket) -> None:
    photo = ready_photo(user, title="Open sky")
    keys = [stored_name(rendition.file) for rendition in photo.renditions.all()]
    assert keys and all(key.startswith("public/") for key in keys)
    for key in keys:
        url = media_url(key)
        assert url == public_storage().url(key)  # what django-storages itself builds
        assert "Signature=" not in url
        assert requests.get(url, timeout=10).status_code == 200


def test_a_private_photos_renditions_never_get_a_public_address(user, bucket) -> None:
    photo = ready_photo(user, title="Diary page", visibility=Visibility.PRIVATE)
    owner = APIClient()
    owner.force_authenticate(user)
    shown = owner.get(f"/api/v1/photos/{photo.pk}/").json()["renditions"]  # read as rows, not models
    urls = [rendition["url"] for rendition in shown] + [rendition.url for rendition in photo.renditions.all()]
    assert urls
    for url in urls:
        assert "/private/" in url and "Signature=" in url
        assert requests.get(url, timeout=10).status_code == 200  # signed: the owner's page shows it
        assert requests.get(url.split("?")[0], timeout=10).status_code == 403  # unsigned: refused


def test_keys_that_are_not_plain_names_go_through_the_backend(bucket) -> None:
    for key in ("public/a/../b.jpg", "public//b.jpg", "public/a b.jpg", "public/./b.jpg", "public/é.jpg"):
        assert media_url(key) == public_storage().url(key), key


def test_a_pages_urls_made_together_are_each_keys_own(bucket) -> None:
    plain = ["public/ab/photo-v3-320.jpg", "public/ab/photo-v3-640.avif"]
    odd = ["public/a/../b.jpg", "public/./b.jpg", "public/a b.jpg", "public/..", "public/.hidden/x.jpg"]
    urls = media_urls([*plain, *odd, "private/ab/original.jpg"])
    assert urls[: len(plain) + len(odd)] == [public_storage().url(key) for key in [*plain, *odd]]
    assert "/private/" in urls[-1] and "Signature=" in urls[-1]  # a private key is always signed

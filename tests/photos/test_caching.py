"""What apps/photos/caching.py keeps in Redis, read back as an operator would with redis-cli."""

from __future__ import annotations

from django.core.cache import cache
from django.urls import reverse
from django_redis import get_redis_connection

from apps.photos import services
from apps.photos.caching import photo_card_key
from tests.factories import uploaded_photo


def test_a_cached_photo_card_carries_no_password_hash_or_email(client, user, bucket) -> None:
    user.email = "owner-private@example.test"
    user.save(update_fields=["email"])
    photo = uploaded_photo(owner=user, title="Harbour at dawn")
    services.rendition_make_all(photo_id=photo.pk)

    assert client.get(reverse("photo_detail", args=[photo.pk])).status_code == 200
    raw_keys = get_redis_connection("default").keys(f"*{photo_card_key(photo.pk)}")
    assert len(raw_keys) == 1, raw_keys  # the card really is in Redis
    stored = get_redis_connection("default").get(raw_keys[0])
    assert isinstance(stored, bytes)
    assert b"Harbour at dawn" in stored
    assert user.password.encode() not in stored
    assert b"owner-private@example.test" not in stored

    card = cache.get(photo_card_key(photo.pk))[0]
    assert card.owner.shown_name == user.shown_name  # what pages show is still there

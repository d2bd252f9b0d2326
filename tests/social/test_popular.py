"""Popular is materialized every ten minutes from the week's likes; without a snapshot (embedded
mode, a stopped scheduler) the page counts likes itself. Privacy is checked when the page is read."""

from __future__ import annotations

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from apps.photos.services import photo_update
from apps.social.models import Like, PopularPhoto
from apps.social.services import like_set, popular_refresh
from photosite.cache import versions_bump
from tests.factories import UserFactory, ready_photo


def titles(client) -> list[str]:
    return re.findall(r'<span class="card-title">([^<]+)</span>', client.get(reverse("explore")).content.decode())


def test_popular_reads_the_snapshot_until_the_next_refresh(client, db, bucket, django_capture_on_commit_callbacks):
    owner = UserFactory()
    once, twice, old = (ready_photo(owner, title=title) for title in ("Once", "Twice", "Old"))
    fans = [UserFactory() for _ in range(3)]
    like_set(user=fans[0], photo=once, liked=True)
    for fan in fans[:2]:
        like_set(user=fan, photo=twice, liked=True)
    for fan in fans:
        like_set(user=fan, photo=old, liked=True)
    Like.objects.filter(photo=old).update(created_at=timezone.now() - timedelta(days=8))
    deactivated = fans[2]
    like_set(user=deactivated, photo=once, liked=True)
    deactivated.is_active = False
    deactivated.save(update_fields=["is_active"])

    assert titles(client) == ["Twice", "Once"]  # no snapshot yet: counted on the spot
    with django_capture_on_commit_callbacks(execute=True):
        assert popular_refresh() == 2
    assert list(PopularPhoto.objects.order_by("-likes").values_list("photo__title", "likes")) == [
        ("Twice", 2),
        ("Once", 1),  # the deactivated fan's like does not count
    ]
    assert titles(client) == ["Twice", "Once"]

    for _ in range(2):  # "Once" overtakes "Twice" ...
        like_set(user=UserFactory(), photo=once, liked=True)
    versions_bump(["popular"])  # ... and the cached grid is gone, but the page reads the snapshot
    assert titles(client) == ["Twice", "Once"]
    with django_capture_on_commit_callbacks(execute=True):
        popular_refresh()  # the next refresh ranks the new likes
    assert titles(client) == ["Once", "Twice"]


def test_a_photo_made_private_leaves_popular_before_the_next_refresh(
    client, db, bucket, django_capture_on_commit_callbacks
) -> None:
    owner = UserFactory()
    secret = ready_photo(owner, title="Soon private")
    like_set(user=UserFactory(), photo=secret, liked=True)
    with django_capture_on_commit_callbacks(execute=True):
        popular_refresh()
    assert titles(client) == ["Soon private"]
    with django_capture_on_commit_callbacks(execute=True):
        photo_update(photo=secret, title=secret.title, caption="", alt_text="", visibility="private")
    assert titles(client) == []
    assert client.get("/api/v1/popular/").json()["results"] == []

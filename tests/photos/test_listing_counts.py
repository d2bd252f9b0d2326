"""Profile and tag counts are kept by the photo services as photos enter and leave listings
(never by counting rows on a page), and match what the listings show after every kind of change."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.management import call_command

from apps.photos import services
from apps.photos.models import Photo, Visibility
from apps.photos.selectors import listing_tag, listing_user, photo_count_for_profile, tag_photo_count
from apps.photos.tags import tags_parse
from photosite.counters import counter_add
from tests.factories import UserFactory, ready_photo, uploaded_photo


def shown(owner, viewer, tag: str) -> tuple[int, int, int]:
    """(profile count for a visitor, for the owner, tag count), each checked against its listing.

    From the counters, not the cache: invalidation has tests of its own (test_caching.py)."""
    cache.clear()
    visitor_count = photo_count_for_profile(owner=owner, viewer=viewer)
    owner_count = photo_count_for_profile(owner=owner, viewer=owner)
    tag_count = tag_photo_count(name=tag)
    assert visitor_count == listing_user(owner=owner, viewer=viewer).queryset.count()
    assert owner_count == listing_user(owner=owner, viewer=owner).queryset.count()
    assert tag_count == listing_tag(name=tag).queryset.count()
    return visitor_count, owner_count, tag_count


def test_counts_follow_every_change_a_photo_goes_through(db, bucket) -> None:
    owner, visitor = UserFactory(), AnonymousUser()
    assert shown(owner, visitor, "sea") == (0, 0, 0)
    processing = uploaded_photo(owner=owner, title="Uploading")
    assert shown(owner, visitor, "sea") == (0, 0, 0)  # processing: in no listing yet
    services.rendition_make_all(photo_id=processing.pk)
    assert shown(owner, visitor, "sea") == (1, 1, 0)
    photo = ready_photo(owner, title="Sea", tags="sea")
    assert shown(owner, visitor, "sea") == (2, 2, 1)

    def edit(**changes: Any) -> None:
        fields: dict[str, Any] = {"title": photo.title, "caption": "", "alt_text": "", "visibility": photo.visibility}
        fields.update(changes)
        services.photo_update(photo=Photo.objects.get(pk=photo.pk), **fields)

    edit(visibility=Visibility.PRIVATE)
    assert shown(owner, visitor, "sea") == (1, 2, 0)
    edit(visibility=Visibility.PUBLIC, tags=tags_parse("sea sky"))
    assert shown(owner, visitor, "sea") == (2, 2, 1) and tag_photo_count(name="sky") == 1
    edit(tags=tags_parse("sky"))
    assert shown(owner, visitor, "sea") == (2, 2, 0)
    moderator = UserFactory(is_staff=True)
    services.photo_hide(photo=Photo.objects.get(pk=photo.pk), moderator=moderator, reason="spam")
    services.photo_hide(photo=Photo.objects.get(pk=photo.pk), moderator=moderator, reason="spam")  # twice: once
    assert shown(owner, visitor, "sky") == (1, 2, 0)
    services.photo_unhide(photo=Photo.objects.get(pk=photo.pk))
    assert shown(owner, visitor, "sky") == (2, 2, 1)
    services.photos_mark_processing(photo_ids=[photo.pk])  # a renditions rebuild
    assert shown(owner, visitor, "sky") == (1, 1, 0)
    services.rendition_make_all(photo_id=photo.pk)
    assert shown(owner, visitor, "sky") == (2, 2, 1)
    services.photo_delete(photo_id=photo.pk)
    services.photo_delete(photo_id=photo.pk)  # already gone: counted once
    assert shown(owner, visitor, "sky") == (1, 1, 0)


def test_counts_reconcile_repairs_profile_and_tag_counts(db, bucket) -> None:
    owner = UserFactory()
    photo = ready_photo(owner, title="Sea", tags="sea")
    counter_add("user.public_photos", owner.pk, 5)
    counter_add("tag.public_photos", photo.tags.get().pk, -1)
    output = StringIO()
    call_command("counts_reconcile", stdout=output)
    assert "user.public_photos: 1 wrong" in output.getvalue()
    assert "tag.public_photos: 1 wrong" in output.getvalue()
    assert shown(owner, AnonymousUser(), "sea") == (1, 1, 1)

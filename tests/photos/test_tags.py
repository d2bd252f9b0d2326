"""Tag parsing (apps/photos/tags.py): what people type becomes a short list of names, and
hostile input is refused at a bounded cost."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.photos.tags import MAX_TAGS, TAG_MAX_LENGTH, TagsRejected, tags_parse
from tests.factories import PhotoRowFactory

# 100,000 distinct words, 689 KB: parsing this used to take half a minute of CPU (quadratic).
HUGE_TAGS = " ".join(f"w{number}" for number in range(100_000))
TOO_MUCH_TEXT = f"Too much text for tags: at most {MAX_TAGS} tags of up to {TAG_MAX_LENGTH} characters."


def test_tags_are_lowercased_deduplicated_and_kept_in_order() -> None:
    assert tags_parse("Sunset, #Beach  sea sunset") == ["sunset", "beach", "sea"]


def test_a_huge_tags_text_is_refused_before_it_is_split() -> None:
    with pytest.raises(TagsRejected, match="Too much text for tags"):
        tags_parse(HUGE_TAGS)


def test_a_huge_tags_field_is_a_400_through_the_api(user) -> None:
    photo = PhotoRowFactory(owner=user)
    api = APIClient()
    api.force_authenticate(user)
    response = api.patch(f"/api/v1/photos/{photo.pk}/", {"tags": HUGE_TAGS}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"tags: {TOO_MUCH_TEXT}"
    as_list = api.patch(f"/api/v1/photos/{photo.pk}/", {"tags": HUGE_TAGS.split()}, format="json")
    assert as_list.status_code == 400 and as_list.json()["error"]["message"] == f"tags: {TOO_MUCH_TEXT}"
    assert list(photo.tags.all()) == []


def test_a_huge_tags_field_is_a_400_on_the_edit_page(logged_in_client, user) -> None:
    photo = PhotoRowFactory(owner=user)
    response = logged_in_client.post(
        reverse("photo_edit", args=[photo.pk]), {"title": "Kept", "visibility": "public", "tags": HUGE_TAGS}
    )
    assert response.status_code == 400
    assert "at most 840 characters" in response.content.decode()
    assert list(photo.tags.all()) == []

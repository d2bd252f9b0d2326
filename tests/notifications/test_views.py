"""The header's unread count, the notifications page (then read), and @mentions as links."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.social.services import comment_create, follow_set, like_set
from tests.factories import UserFactory, email_confirmed, ready_photo
from tests.notifications.jobs import run_queued_notifications

BADGE = re.compile(r'<span class="badge" data-unread-count>(\d+\+?)<')


def badge(body: str) -> str | None:
    found = BADGE.search(body)
    return found.group(1) if found else None


def test_the_header_counts_unread_groups_and_the_page_marks_them_read(client, db, bucket) -> None:
    ann = UserFactory(display_name="Ann")
    photo = ready_photo(ann, title="Lighthouse")
    bea, cal = UserFactory(display_name="Bea"), UserFactory(display_name="Cal")
    like_set(user=bea, photo=photo, liked=True)
    like_set(user=cal, photo=photo, liked=True)
    follow_set(follower=bea, followee=ann, following=True)
    client.force_login(ann)
    assert badge(client.get(reverse("home")).content.decode()) is None  # queued, not yet told
    run_queued_notifications()
    assert badge(client.get(reverse("home")).content.decode()) == "2"  # two groups: likes, follows

    page = client.get(reverse("notifications")).content.decode()
    assert "Cal and 1 other liked your photo “Lighthouse”" in page
    assert "Bea started following you" in page
    assert page.count('class="notification unread"') == 2  # shown as new this once
    assert badge(page) is None  # and already counted as read in the header
    again = client.get(reverse("notifications")).content.decode()
    assert 'class="notification unread"' not in again
    assert badge(client.get(reverse("home")).content.decode()) is None


def test_mark_all_read_clears_the_count(client, db, bucket) -> None:
    ann, bea = UserFactory(), UserFactory()
    like_set(user=bea, photo=ready_photo(ann), liked=True)
    run_queued_notifications()
    client.force_login(ann)
    response = client.post(reverse("notifications_read"))
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.unread_notification_count == 0


def test_visitors_pages_carry_no_count_and_signed_in_pages_are_not_kept_for_them(client, db, bucket) -> None:
    ann, bea = UserFactory(), UserFactory()
    like_set(user=bea, photo=ready_photo(ann), liked=True)
    run_queued_notifications()
    signed_in = Client()
    signed_in.force_login(ann)
    assert badge(signed_in.get(reverse("home")).content.decode()) == "1"
    visitor = client.get(reverse("home")).content.decode()
    assert badge(visitor) is None and reverse("notifications") not in visitor
    cache.clear()
    visitor_first = Client().get(reverse("home")).content.decode()  # a visitor after a fresh cache
    assert badge(visitor_first) is None


def test_the_list_pages_by_cursor_newest_first(client, db, bucket, settings) -> None:
    settings.PHOTOS_PAGE_SIZE = 2
    ann, bea = UserFactory(), UserFactory()
    photos = [ready_photo(ann, title=f"Shot {number}") for number in range(3)]
    for photo in photos:
        like_set(user=bea, photo=photo, liked=True)
    run_queued_notifications()
    client.force_login(ann)
    first = client.get(reverse("notifications")).content.decode()
    assert first.index("Shot 2") < first.index("Shot 1") and "Shot 0" not in first
    next_url = re.search(r'rel="next" href="([^"]+)"', first)
    assert next_url is not None
    second = client.get(next_url.group(1).replace("&amp;", "&")).content.decode()
    assert "Shot 0" in second and "Shot 2" not in second
    assert client.get(reverse("notifications") + "?after=forged").status_code == 400


def test_the_notifications_page_needs_a_signed_in_person(client, db) -> None:
    response = client.get(reverse("notifications"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_mentions_in_comments_link_to_the_person(client, db, bucket) -> None:
    ann, cal = UserFactory(username="ann"), UserFactory(username="cal")
    photo = ready_photo(ann)
    comment_create(author=ann, photo=photo, body="Thanks @cal. <b>bold</b> mail@example.com")
    page = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert f'<a class="mention" href="{reverse("profile", args=["cal"])}">@cal</a>.' in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page  # the comment's own markup stays text
    assert "mail@example.com" in page and 'href="/accounts/people/example.com/"' not in page
    assert cal.pk  # (the person exists; the link is to their page)


def test_the_digest_setting_is_saved_and_refuses_nonsense(client, db) -> None:
    ann = email_confirmed(UserFactory())
    client.force_login(ann)
    assert client.post(reverse("notification_digest"), {"notification_digest": "daily"}).status_code == 302
    ann.refresh_from_db()
    assert ann.notification_digest == "daily"
    assert client.post(reverse("notification_digest"), {"notification_digest": "hourly"}).status_code == 400
    ann.refresh_from_db()
    assert ann.notification_digest == "daily"


@pytest.mark.parametrize("groups", [1, 4])
def test_the_page_and_the_api_list_in_a_fixed_number_of_queries(client, db, bucket, groups, django_assert_num_queries):
    ann, bea = UserFactory(), UserFactory()
    for number in range(groups):
        like_set(user=bea, photo=ready_photo(ann, title=f"Shot {number}"), liked=True)
    run_queued_notifications()
    client.force_login(ann)
    # the user (the session is in the cache); the notifications with photo, owner and actor;
    # the photos' renditions; then, in a transaction (a savepoint here, and its release), marking
    # the shown ones read, setting the header's count from the rows, and reading it back
    with django_assert_num_queries(8):
        assert client.get(reverse("notifications")).status_code == 200
    # the user; the notifications; their renditions (the API marks nothing)
    with django_assert_num_queries(3):
        assert client.get("/api/v1/notifications/").status_code == 200

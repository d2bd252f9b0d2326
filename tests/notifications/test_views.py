"""The header's unread count, the notifications page (read only when its reader says so), and
@mentions as links."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.notifications.models import Notification
from apps.social.services import comment_create, follow_set, like_set
from tests.factories import UserFactory, email_confirmed, ready_photo
from tests.notifications.jobs import run_queued_notifications

BADGE = re.compile(r'<span class="badge" data-unread-count>(\d+\+?)<')


def badge(body: str) -> str | None:
    found = BADGE.search(body)
    return found.group(1) if found else None


def test_the_header_counts_unread_groups_and_reading_the_page_leaves_them_unread(client, db, bucket) -> None:
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
    assert page.count('class="notification unread"') == 2
    assert badge(page) == "2"
    # A GET changes nothing: a link preview, a prefetch or a second tab fetching the page
    # leaves the news unread, highlighted and counted until its reader marks it read.
    again = client.get(reverse("notifications")).content.decode()
    assert again.count('class="notification unread"') == 2 and badge(again) == "2"
    assert badge(client.get(reverse("home")).content.decode()) == "2"

    through = re.search(r'name="through" value="([^"]+)"', again)
    assert through is not None, "the page's Mark all read form"
    marked = client.post(reverse("notifications_read"), {"through": through.group(1)}, follow=True)
    assert marked.status_code == 200 and "All notifications marked read." in marked.content.decode()
    read = client.get(reverse("notifications")).content.decode()
    assert 'class="notification unread"' not in read and badge(read) is None
    assert "Mark all read" not in read  # nothing left to mark
    assert "Cal and 1 other liked your photo “Lighthouse”" in read  # still listed, no longer new


def test_news_that_came_after_the_page_was_shown_stays_unread(client, db, bucket) -> None:
    ann, bea, cal = UserFactory(), UserFactory(display_name="Bea"), UserFactory(display_name="Cal")
    like_set(user=bea, photo=ready_photo(ann, title="Pier"), liked=True)
    run_queued_notifications()
    client.force_login(ann)
    page = client.get(reverse("notifications")).content.decode()
    through = re.search(r'name="through" value="([^"]+)"', page)
    assert through is not None and "Bea liked your photo “Pier”" in page
    follow_set(follower=cal, followee=ann, following=True)  # while the page is open
    run_queued_notifications()

    client.post(reverse("notifications_read"), {"through": through.group(1)})
    after = client.get(reverse("notifications")).content.decode()
    assert badge(after) == "1"
    assert re.search(r'class="notification unread">.*?Cal started following you', after, re.S)
    assert 'class="notification">' in after  # Bea's like: read


def test_a_broken_mark_read_form_is_refused_and_marks_nothing(client, db, bucket) -> None:
    ann, bea = UserFactory(), UserFactory()
    like_set(user=bea, photo=ready_photo(ann), liked=True)
    run_queued_notifications()
    client.force_login(ann)
    refused = client.post(reverse("notifications_read"), {"through": "yesterday-ish"})
    assert refused.status_code == 400 and "Reload the page" in refused.content.decode()
    ann.refresh_from_db()
    assert ann.unread_notification_count == 1
    assert client.get(reverse("notifications_read")).status_code == 405  # never by GET


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
    # the photos' renditions (reading the page marks nothing)
    with django_assert_num_queries(3):
        assert client.get(reverse("notifications")).status_code == 200
    # the user; the notifications; their renditions (the API marks nothing)
    with django_assert_num_queries(3):
        assert client.get("/api/v1/notifications/").status_code == 200


def test_the_pages_script_marks_only_the_unread_ones_it_showed(client, db, bucket, settings) -> None:
    settings.PHOTOS_PAGE_SIZE = 1
    ann, bea, cal = UserFactory(), UserFactory(display_name="Bea"), UserFactory(display_name="Cal")
    like_set(user=bea, photo=ready_photo(ann, title="Pier"), liked=True)
    follow_set(follower=cal, followee=ann, following=True)
    run_queued_notifications()
    like_set(user=ann, photo=ready_photo(bea, title="Bea's"), liked=True)  # news of Bea's, not Ann's
    run_queued_notifications()
    client.force_login(ann)
    page = client.get(reverse("notifications")).content.decode()
    seen = re.search(r'<form method="post" action="([^"]+)" data-mark-seen hidden>(.*?)</form>', page, re.S)
    assert seen is not None and badge(page) == "2"
    ids = re.findall(r'name="ids" value="(\d+)"', seen.group(2))
    assert len(ids) == 1  # the one page shown: the newest, Cal's follow

    strangers = [str(number) for number in Notification.objects.filter(recipient=bea).values_list("pk", flat=True)]
    assert strangers
    ignored = client.post(seen.group(1), {"ids": strangers}, HTTP_ACCEPT="application/json")
    assert ignored.status_code == 200 and ignored.json() == {"unread": 2}  # Bea's news is not Ann's to mark
    marked = client.post(seen.group(1), {"ids": ids}, HTTP_ACCEPT="application/json")
    assert marked.status_code == 200 and marked.json() == {"unread": 1}  # the like on the next page: unread
    assert client.post(seen.group(1), {"ids": ["1x"]}, HTTP_ACCEPT="application/json").status_code == 400
    after = client.get(reverse("notifications")).content.decode()
    assert badge(after) == "1" and 'class="notification unread"' not in after and "data-mark-seen" not in after


def test_a_group_someone_reopened_after_the_page_was_shown_stays_unread_when_the_script_marks_it(
    client, db, bucket
) -> None:
    ann, bea, cal = UserFactory(), UserFactory(display_name="Bea"), UserFactory(display_name="Cal")
    photo = ready_photo(ann, title="Pier")
    like_set(user=bea, photo=photo, liked=True)
    run_queued_notifications()
    client.force_login(ann)
    page = client.get(reverse("notifications")).content.decode()
    seen = re.search(r'<form method="post" action="([^"]+)" data-mark-seen hidden>(.*?)</form>', page, re.S)
    assert seen is not None
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', seen.group(2)):
        fields.setdefault(name, []).append(value)
    like_set(user=cal, photo=photo, liked=True)  # the same group, reopened while the tab was in the background
    run_queued_notifications()

    marked = client.post(seen.group(1), fields, HTTP_ACCEPT="application/json")
    assert marked.status_code == 200 and marked.json() == {"unread": 1}  # Cal's like: not seen yet
    after = client.get(reverse("notifications")).content.decode()
    assert badge(after) == "1" and re.search(r'class="notification unread">.*?Cal', after, re.S)

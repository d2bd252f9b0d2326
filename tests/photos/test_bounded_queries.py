"""Pages whose cost must not grow with the tables (bench/growth.py measures them at 1M photos):
the following feed reads a bounded number of photos per followee, search ranks a bounded set
of candidates, and people search and the unfinished-uploads strip have indexes to use."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.photos import selectors
from apps.photos.models import Photo, PhotoStatus
from apps.photos.services import photo_search_index_update
from apps.social.services import follow_set
from photosite.pagination import cursor_encode
from tests.factories import PhotoRowFactory, UserFactory


def titles_in(body: str) -> list[str]:
    return re.findall(r'<span class="card-title">([^<]+)</span>', body)


@pytest.mark.parametrize(
    ("walk_min_follows", "walk"),
    [
        (10**9, 0),  # a few follows: a probe per followee
        (0, 1000),  # many: the newest photos walked, which hold every full page here
        (0, 3),  # many, but the walk finds too few: the probes after all
    ],
)
def test_the_feed_pages_through_every_followee_photo_once_in_time_order(
    client, settings, db, monkeypatch, walk_min_follows, walk
) -> None:
    monkeypatch.setattr(selectors, "FEED_WALK_MIN_FOLLOWS", walk_min_follows)
    monkeypatch.setattr(selectors, "FEED_WALK", walk)
    settings.PHOTOS_PAGE_SIZE = 4
    reader = UserFactory()
    start = timezone.now() - timedelta(days=1)
    expected = []
    for person_index in range(6):
        person = UserFactory()
        follow_set(follower=reader, followee=person, following=True)
        for photo_index in range(5):  # interleaved in time across people; some share a moment
            minute = photo_index * 6 + person_index // 2
            photo = PhotoRowFactory(owner=person, title=f"P{person_index}-{photo_index}")
            Photo.objects.filter(pk=photo.pk).update(created_at=start + timedelta(minutes=minute))
            expected.append((minute, photo.pk, photo.title))
    PhotoRowFactory(owner=UserFactory(), title="Not followed")
    PhotoRowFactory(owner=person, title="Private", visibility="private")
    expected.sort(reverse=True)

    client.force_login(reader)
    seen: list[str] = []
    url: str | None = reverse("feed")
    with CaptureQueriesContext(connection) as queries:
        while url:
            body = client.get(url).content.decode()
            seen += titles_in(body)
            match = re.search(r'<a class="button more" rel="next" href="([^"]+)"', body)
            url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == [title for _, _, title in expected]
    if connection.vendor == "postgresql":
        assert any("LATERAL" in query["sql"] for query in queries.captured_queries)


def test_a_broken_feed_cursor_is_a_400(client, db) -> None:
    reader = UserFactory()
    client.force_login(reader)
    follow_set(follower=reader, followee=PhotoRowFactory().owner, following=True)
    for bad in (cursor_encode(["x", 1]), cursor_encode([timezone.now(), "x"]), "%%%"):
        assert client.get(reverse("feed"), {"after": bad}).status_code == 400


def test_search_ranks_the_newest_matches_best_first(client, db) -> None:
    owner = UserFactory()
    PhotoRowFactory(owner=owner, title="harbour at night")
    best = PhotoRowFactory(owner=owner, title="harbour")
    photo_search_index_update(photo_ids=list(Photo.objects.values_list("pk", flat=True)))
    found = titles_in(client.get(reverse("search") + "?q=harbour").content.decode())
    assert set(found) == {"harbour", "harbour at night"} and best.title in found


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables: ask whether the index is usable at all
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_feed_finds_each_followees_newest_photo_from_the_public_photos_index(client, db) -> None:
    reader = UserFactory()
    for _ in range(3):
        follow_set(follower=reader, followee=PhotoRowFactory().owner, following=True)
    client.force_login(reader)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("feed")).status_code == 200
    (feed_sql,) = (query["sql"] for query in queries.captured_queries if "LATERAL" in query["sql"])
    # One probe per followee, thousands a page: it must not read photo rows to learn which are
    # public. Either public-photos index answers that (on these few rows the planner may take
    # the newest-public one, at 1M it takes the per-owner one: bench/growth.py).
    feed_plan = plan(feed_sql)
    assert "photo_owner_public_idx" in feed_plan or "photo_public_recent_idx" in feed_plan
    assert "Seq Scan on photos_photo" not in feed_plan


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_people_search_and_the_unfinished_strip_have_indexes_to_use(db) -> None:
    from apps.accounts.selectors import people_matching
    from apps.photos.selectors import photo_list_unfinished_for_owner

    # A row made without the upload service: its owner's count of unfinished photos set by hand.
    owner = UserFactory(username="marta", display_name="Marta Kowalska", unfinished_photo_count=1)
    PhotoRowFactory(owner=owner, status=PhotoStatus.PROCESSING)
    with CaptureQueriesContext(connection) as queries:
        assert people_matching(query="owal") == [owner]
        assert len(photo_list_unfinished_for_owner(owner=owner)) == 1
    people_sql, unfinished_sql = (query["sql"] for query in queries.captured_queries)
    assert "accounts_user_display_name_trgm" in plan(people_sql)
    assert "photo_unfinished_idx" in plan(unfinished_sql)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_timeline_search_filters_liked_page_and_duplicate_check_have_indexes_to_use(db) -> None:
    from apps.photos.selectors import SearchFilters, listing_liked, listing_search, listing_timeline, timeline_months
    from apps.photos.services import duplicate_check
    from apps.social.services import like_set

    owner, reader = UserFactory(), UserFactory()
    photo = PhotoRowFactory(owner=owner, camera="TestCam TC-1", lens="Wide 23mm")
    like_set(user=reader, photo=photo, liked=True)
    reads = {
        "timeline": lambda: listing_timeline(owner=owner, viewer=reader).page(cursor=None),
        "months": lambda: timeline_months(owner=owner, viewer=owner),
        "camera": lambda: listing_search(query="", filters=SearchFilters(camera="testcam tc-1")).page(cursor=None),
        "lens": lambda: listing_search(query="", filters=SearchFilters(lens="WIDE 23MM")).page(cursor=None),
        "liked": lambda: listing_liked(viewer=reader).page(cursor=None),
        "duplicate": lambda: duplicate_check(owner=reader, sha256="1" * 64),
    }
    indexes = {
        "timeline": "photo_timeline_idx",
        "months": "Index Cond: (owner_id",  # one person's rows, by whichever owner index
        "camera": "photo_camera_idx",
        "lens": "photo_lens_idx",
        "liked": "like_user_recent_idx",
        "duplicate": "photo_owner_sha256_idx",
    }
    for name, read in reads.items():
        with CaptureQueriesContext(connection) as queries:
            read()
        sql = queries.captured_queries[0]["sql"]
        if name == "liked":  # tiny tables make sorting look free: ask whether an index can give the order
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_sort = off")
        assert indexes[name] in plan(sql), name

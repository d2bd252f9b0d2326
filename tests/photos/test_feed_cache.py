"""The following feed's first page is kept in Redis for its viewer alone (Listing.cached_for,
caching.grid_key): every write that changes what they should see shows at once."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_redis import get_redis_connection

from apps.photos import services
from apps.social.services import follow_set
from tests.factories import UserFactory, ready_photo


def _feed(client) -> str:
    response = client.get(reverse("feed"))
    assert response.status_code == 200
    page: str = response.content.decode()
    return page


def test_the_feed_is_kept_for_its_viewer_and_new_or_hidden_photos_show_at_once(
    client, user, bucket, django_capture_on_commit_callbacks
) -> None:
    followee = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        follow_set(follower=user, followee=followee, following=True)
        harbour = ready_photo(followee, title="Harbour at dawn")
    client.force_login(user)
    assert "Harbour at dawn" in _feed(client)
    assert get_redis_connection("default").keys(f"*photos:grid:feed:{user.pk}:*")  # kept, under this viewer
    with CaptureQueriesContext(connection) as queries:
        assert "Harbour at dawn" in _feed(client)
    assert not [query for query in queries if "social_follow" in query["sql"]], "the kept page, not the query"

    with django_capture_on_commit_callbacks(execute=True):
        ready_photo(followee, title="Lighthouse at dusk")
    assert "Lighthouse at dusk" in _feed(client)

    with django_capture_on_commit_callbacks(execute=True):
        services.photo_update(photo=harbour, title=harbour.title, caption="", alt_text="", visibility="private")
    page = _feed(client)
    assert "Harbour at dawn" not in page and "Lighthouse at dusk" in page


def test_following_and_unfollowing_change_the_kept_feed_at_once(
    client, user, bucket, django_capture_on_commit_callbacks
) -> None:
    person = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ready_photo(person, title="Dunes at noon")
    client.force_login(user)
    assert "Dunes at noon" not in _feed(client)

    with django_capture_on_commit_callbacks(execute=True):
        follow_set(follower=user, followee=person, following=True)
    assert "Dunes at noon" in _feed(client)

    with django_capture_on_commit_callbacks(execute=True):
        follow_set(follower=user, followee=person, following=False)
    assert "Dunes at noon" not in _feed(client)


def test_one_viewers_kept_feed_is_never_shown_to_another(
    client, db, bucket, django_capture_on_commit_callbacks
) -> None:
    ann, ben, ann_follows, ben_follows = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        follow_set(follower=ann, followee=ann_follows, following=True)
        follow_set(follower=ben, followee=ben_follows, following=True)
        ready_photo(ann_follows, title="River for Ann")
        ready_photo(ben_follows, title="Mountain for Ben")
    client.force_login(ann)
    assert "River for Ann" in _feed(client)
    client.force_login(ben)
    page = _feed(client)
    assert "Mountain for Ben" in page and "River for Ann" not in page
    client.force_login(ann)
    page = _feed(client)
    assert "River for Ann" in page and "Mountain for Ben" not in page

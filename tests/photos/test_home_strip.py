"""The home page's "Your uploads" strip: a person's photos still processing or failed.

Whether to look for them at all comes from a count on the person's own row (read for every
signed-in request anyway), kept by the photo services as statuses change: these tests follow
each change a person or an operator can make and what the home page then shows.
"""

from __future__ import annotations

import io

from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.photos import services
from apps.photos.models import Photo, PhotoStatus
from tests.conftest import wait_for
from tests.factories import ready_photo, uploaded_photo
from tests.images import jpeg_bytes

STRIP = 'class="unfinished"'


def home_of(client: Client) -> str:
    return client.get(reverse("home")).content.decode()


def count_of(user: User) -> int:
    user.refresh_from_db(fields=["unfinished_photo_count"])
    return user.unfinished_photo_count


def test_an_upload_shows_in_the_strip_until_it_is_ready(client, user, bucket) -> None:
    client.force_login(user)
    assert STRIP not in home_of(client)
    photo = uploaded_photo(owner=user, title="Harbour at dawn")
    page = home_of(client)
    assert STRIP in page
    assert "Harbour at dawn · Processing" in page
    services.rendition_make_all(photo_id=photo.pk)
    assert STRIP not in home_of(client)
    assert count_of(user) == 0


def test_a_signed_in_home_page_without_unfinished_uploads_asks_no_query_for_the_strip(
    client, user, bucket, django_assert_num_queries
) -> None:
    ready_photo(user)
    client.force_login(user)
    cache.clear()
    # session, user, grid photos with owners and renditions: no query for the strip
    with django_assert_num_queries(3):
        assert STRIP not in home_of(client)
    uploaded_photo(owner=user, title="Still processing")
    cache.clear()
    # ... and one more once something is processing
    with django_assert_num_queries(4):
        assert "Still processing" in home_of(client)


def test_a_failed_upload_stays_in_the_strip_through_a_retry_until_deleted(client, user, bucket) -> None:
    client.force_login(user)
    photo = uploaded_photo(owner=user, title="Broken scan")
    services.photo_mark_failed(photo_id=photo.pk, reason="could not decode")
    assert "Broken scan · Failed" in home_of(client)
    response = client.post(reverse("photo_retry", args=[photo.pk]))
    assert response.status_code == 302
    assert "Broken scan · Processing" in home_of(client)
    services.photo_mark_failed(photo_id=photo.pk, reason="could not decode")
    services.photos_retry_failed(hours=1)  # the operators' button
    assert "Broken scan · Processing" in home_of(client)
    services.photo_delete(photo_id=photo.pk)
    assert STRIP not in home_of(client)
    assert count_of(user) == 0


def test_deleting_a_processing_upload_removes_it_from_the_strip(client, user, bucket) -> None:
    client.force_login(user)
    first = uploaded_photo(owner=user, title="First")
    uploaded_photo(owner=user, title="Second", data=jpeg_bytes(width=40, height=30))
    assert count_of(user) == 2
    services.photo_delete(photo_id=first.pk)
    page = home_of(client)
    assert "First · Processing" not in page
    assert "Second · Processing" in page


def test_a_ready_photo_rendered_again_shows_as_processing_until_ready(client, user, bucket) -> None:
    client.force_login(user)
    photo = ready_photo(user, title="Old favourite")
    services.photo_retry_renditions(photo=photo)  # the admin's "Render again", storage_sweep's repair
    assert "Old favourite · Processing" in home_of(client)
    services.rendition_make_all(photo_id=photo.pk)
    assert STRIP not in home_of(client)
    services.photos_mark_processing(photo_ids=[photo.pk])  # a rebuild with the photos shown as processing
    assert "Old favourite · Processing" in home_of(client)
    services.rendition_make_all(photo_id=photo.pk)
    assert STRIP not in home_of(client)
    assert count_of(user) == 0


def test_a_ready_photo_made_ready_again_moves_no_count(client, user, bucket, other_user) -> None:
    photo = ready_photo(user)
    services.photo_retry_renditions(photo=photo)
    services.rendition_make_all(photo_id=photo.pk)
    services.rendition_make_all(photo_id=photo.pk)  # an actor run twice
    assert count_of(user) == 0
    uploaded_photo(owner=other_user)
    assert (count_of(user), count_of(other_user)) == (0, 1)


def test_reconcile_repairs_a_count_that_drifted_either_way(client, user, other_user, bucket) -> None:
    client.force_login(user)
    uploaded_photo(owner=user, title="Lost count")
    User.objects.filter(pk=user.pk).update(unfinished_photo_count=0)  # drift: the strip would hide it
    User.objects.filter(pk=other_user.pk).update(unfinished_photo_count=3)  # drift: a query for nothing
    assert STRIP not in home_of(client)
    fixed = services.listing_counts_reconcile()
    assert fixed["user.unfinished_photos"] == 2
    assert (count_of(user), count_of(other_user)) == (1, 0)
    assert "Lost count · Processing" in home_of(client)
    assert services.listing_counts_reconcile()["user.unfinished_photos"] == 0


def test_a_count_never_goes_below_zero(user, bucket) -> None:
    photo = uploaded_photo(owner=user)
    User.objects.filter(pk=user.pk).update(unfinished_photo_count=0)  # drift
    services.rendition_make_all(photo_id=photo.pk)
    assert count_of(user) == 0
    uploaded_photo(owner=user, data=jpeg_bytes(width=40, height=30))
    assert count_of(user) == 1


def test_an_upload_leaves_the_strip_once_a_real_worker_has_rendered_it(client, user, bucket, worker) -> None:
    client.force_login(user)
    response = client.post(
        reverse("photo_upload"),
        {"file": io.BytesIO(jpeg_bytes(640, 480)), "title": "Market day", "visibility": "public"},
    )
    assert response.status_code == 302, response.content
    photo = Photo.objects.get()

    def rendered() -> bool:
        photo.refresh_from_db()
        return photo.status != PhotoStatus.PROCESSING

    page = home_of(client)
    photo.refresh_from_db()  # after the page: not in it only if the worker was that quick
    assert "Market day · Processing" in page or photo.status == PhotoStatus.READY
    wait_for(rendered, timeout=60, what=f"the worker to render the photo; worker log:\n{worker.log()}")
    assert photo.status == PhotoStatus.READY, photo.failure_reason
    assert STRIP not in home_of(client)
    assert count_of(user) == 0

"""The album admin: an operator's edit or deletion reaches visitors' kept pages and the edge
as the owner's own would."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from apps.albums.models import Album
from apps.albums.services import album_create
from apps.photos.models import Visibility
from photosite import cache
from tests.admin_forms import submit_change
from tests.conftest import staff_login
from tests.factories import UserFactory, ready_photo


def test_an_album_made_private_or_deleted_in_the_admin_leaves_visitors_pages(
    client, db, bucket, django_capture_on_commit_callbacks
) -> None:
    owner = UserFactory()
    photo = ready_photo(owner, title="Dunes")
    with django_capture_on_commit_callbacks(execute=True):
        album = album_create(owner=owner, title="Desert trip", photo_ids=[photo.pk], visibility=Visibility.PUBLIC)
    page = reverse("album_detail", args=[album.pk])
    assert Client().get(page).status_code == 200  # kept for visitors now
    staff_login(client, UserFactory(is_staff=True, is_superuser=True))

    generation = cache.edge_generation()
    with django_capture_on_commit_callbacks(execute=True):
        answer = submit_change(client, reverse("admin:albums_album_change", args=[album.pk]), visibility="private")
    assert answer.status_code == 302
    assert Client().get(page).status_code == 404
    assert cache.edge_generation() != generation

    generation = cache.edge_generation()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:albums_album_delete", args=[album.pk]), {"post": "yes"})
    assert not Album.objects.filter(pk=album.pk).exists()
    assert cache.edge_generation() != generation

"""The photo admin's bulk actions run only for staff whose permissions allow them."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.accounts.models import User
from apps.photos.models import Photo
from tests.conftest import staff_login
from tests.factories import UserFactory, uploaded_photo


def staff_with(*codenames: str) -> User:
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return staff


def act(client, action: str, photo: Photo):
    return client.post(
        reverse("admin:photos_photo_changelist"), {"action": action, "_selected_action": [photo.pk]}, follow=True
    )


def test_staff_with_only_view_permission_cannot_delete_hide_or_rerender(
    client, user, bucket, django_capture_on_commit_callbacks
) -> None:
    photo = uploaded_photo(owner=user)
    staff_login(client, staff_with("view_photo"))
    assert client.get(reverse("admin:photos_photo_changelist")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        for action in ("delete_with_files", "hide", "rerender"):
            act(client, action, photo)
    photo.refresh_from_db()  # still there, not hidden
    assert photo.hidden_at is None
    assert bucket.keys() == [photo.original.name]


def test_hiding_needs_change_permission_and_deleting_needs_delete_permission(
    client, user, bucket, django_capture_on_commit_callbacks
) -> None:
    photo = uploaded_photo(owner=user)
    staff_login(client, staff_with("view_photo", "change_photo"))
    act(client, "hide", photo)
    photo.refresh_from_db()
    assert photo.hidden_at is not None
    act(client, "delete_with_files", photo)
    assert Photo.objects.filter(pk=photo.pk).exists()

    staff_login(client, staff_with("view_photo", "delete_photo"))
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "delete_with_files", photo)
    assert not Photo.objects.filter(pk=photo.pk).exists()

"""Writes for accounts: sign-up and profile edits (names, bio, avatar)."""

from __future__ import annotations

import uuid

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from apps.accounts.models import User
from apps.photos.caching import photos_of_owner_forget
from apps.photos.imaging import avatar_render
from apps.photos.selectors import photo_ids_of_owner
from apps.photos.services import photo_search_index_update, stored_files_delete_later
from photosite.storage import AVATAR_PREFIX, object_save, storage_errors_as_unavailable


def user_create(*, username: str, password: str, email: str = "", display_name: str = "") -> User:
    return User.objects.create_user(username=username, password=password, email=email, display_name=display_name)


def users_deactivate(*, actor: User, user_ids: list[int]) -> int:
    """Stop these people logging in (their photos stay); returns how many changed.

    Never the actor themselves (an admin locking themselves out), and a superuser only
    when the actor is one: otherwise staff who may change users could lock out the
    people who grant their permissions.
    """
    users = User.objects.filter(pk__in=user_ids, is_active=True).exclude(pk=actor.pk)
    if not actor.is_superuser:
        users = users.exclude(is_superuser=True)
    return users.update(is_active=False)


def avatar_store(*, upload: UploadedFile[bytes]) -> str:
    """Check an uploaded picture like any photo, crop it square, and store it under a new public key.

    Raises UploadRejected (shown beside the field) or StorageUnavailable.
    """
    picture = avatar_render(upload=upload, size=upload.size or 0)
    with storage_errors_as_unavailable():
        return object_save(f"{AVATAR_PREFIX}{uuid.uuid4()}.webp", picture)


def profile_update(
    *, user: User, display_name: str, bio: str, avatar: UploadedFile[bytes] | None = None, remove_avatar: bool = False
) -> User:
    """Change what others see about a person. A new avatar is stored before the row changes;
    the old one is deleted only after the change commits, so a failure never leaves a broken picture."""
    old_avatar = user.avatar_key
    new_avatar = avatar_store(upload=avatar) if avatar is not None else ("" if remove_avatar else old_avatar)
    names_changed = display_name.strip() != user.display_name
    with transaction.atomic():
        user.display_name = display_name.strip()
        user.bio = bio.strip()
        user.avatar_key = new_avatar
        user.save(update_fields=["display_name", "bio", "avatar_key"])
        if names_changed:
            photo_search_index_update(owner_id=user.pk)
            # Cards and grids show the owner's name.
            transaction.on_commit(lambda: photos_of_owner_forget(photo_ids=photo_ids_of_owner(owner_id=user.pk)))
        if old_avatar and old_avatar != new_avatar:
            stored_files_delete_later(names=[old_avatar])
    return user

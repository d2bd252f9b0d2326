"""Writes for accounts: sign-up and profile edits (names, bio, avatar)."""

from __future__ import annotations

import io
import uuid

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, ImageOps

from apps.accounts.models import User
from photosite.storage import PUBLIC_PREFIX, object_save

AVATAR_SIZE = 256  # pixels, square; pages show it at 32-96 CSS px, so this covers 2x screens


def user_create(*, username: str, password: str, email: str = "", display_name: str = "") -> User:
    return User.objects.create_user(username=username, password=password, email=email, display_name=display_name)


def avatar_store(*, upload: UploadedFile) -> str:
    """Check an uploaded picture like any photo, crop it square, and store it under a new public key.

    Raises UploadRejected (shown beside the field) or StorageUnavailable.
    """
    from apps.photos.services import _storage_errors_as_unavailable, check_image_upload

    check_image_upload(upload=upload, size=upload.size or 0)
    upload.seek(0)
    with Image.open(upload) as image:
        image.seek(0)  # the first frame of a GIF
        square = ImageOps.fit(ImageOps.exif_transpose(image).convert("RGB"), (AVATAR_SIZE, AVATAR_SIZE))
    output = io.BytesIO()
    square.save(output, "WEBP", quality=85)
    with _storage_errors_as_unavailable():
        return object_save(f"{PUBLIC_PREFIX}avatars/{uuid.uuid4()}.webp", output.getvalue())


def profile_update(
    *, user: User, display_name: str, bio: str, avatar: UploadedFile | None = None, remove_avatar: bool = False
) -> User:
    """Change what others see about a person. A new avatar is stored before the row changes;
    the old one is deleted only after the change commits, so a failure never leaves a broken picture."""
    from apps.photos.models import Photo
    from apps.photos.selectors import photo_card_key
    from apps.photos.services import _enqueue_storage_cleanup, photo_search_index_update
    from photosite import cache

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

            def forget_cached_cards() -> None:
                # Cards and grids show the owner's name.
                photo_ids = Photo.objects.filter(owner=user).values_list("pk", flat=True)
                cache.delete(*(photo_card_key(photo_id) for photo_id in photo_ids))
                cache.version_bump("photos")

            transaction.on_commit(forget_cached_cards)
        if old_avatar and old_avatar != new_avatar:
            transaction.on_commit(lambda: _enqueue_storage_cleanup([old_avatar]))
    return user

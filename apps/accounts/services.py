"""Writes for accounts: sign-up and profile edits (names, bio, avatar), API tokens, data
exports and account deletion."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from apps.accounts import exports
from apps.accounts.models import ApiToken, DataExport, ExportStatus, RetiredUsername, TokenScope, User
from apps.accounts.selectors import TOKEN_PREFIX, token_digest
from apps.photos.caching import photo_cards_forget_on_commit, photos_of_owner_forget
from apps.photos.imaging import avatar_render
from apps.photos.models import Photo, Rendition
from apps.photos.selectors import photo_ids_of_owner
from apps.photos.services import (
    listing_counts_recount,
    photo_search_index_update,
    stored_files_delete_later,
    superseded_files_take,
    tag_ids_of_owners,
)
from apps.social.models import Comment, Follow, Like
from apps.social.services import comment_delete, counted_objects_of_users, counts_recount, follow_set, like_set
from photosite.outbox import outbox_enqueue
from photosite.storage import (
    AVATAR_PREFIX,
    PRIVATE_PREFIX,
    object_delete,
    object_list,
    object_save,
    storage_errors_as_unavailable,
)
from photosite.text import one_line

logger = logging.getLogger(__name__)


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
    with transaction.atomic():
        changing = list(users.select_for_update().values_list("pk", flat=True))
        changed = User.objects.filter(pk__in=changing).update(is_active=False)
        _counts_follow_people_changed(changing)
    return changed


def _counts_follow_people_changed(user_ids: list[int]) -> None:
    """After people were deactivated: what they liked, commented and followed stops counting,
    their photos leave every listing, tag count and cached card. Call in the transaction
    that changed them, after the change (the recounts read it)."""
    if not user_ids:
        return
    counts_recount(objects=counted_objects_of_users(user_ids=user_ids))
    listing_counts_recount(owner_ids=user_ids, tag_ids=tag_ids_of_owners(owner_ids=user_ids))
    photo_ids = [photo_id for user_id in user_ids for photo_id in photo_ids_of_owner(owner_id=user_id)]
    transaction.on_commit(lambda: photos_of_owner_forget(photo_ids=photo_ids))


def users_delete(*, user_ids: list[int]) -> int:
    """Delete people in bulk (the admin's delete action) as each would delete themselves
    (account_delete): counts on other people's photos and profiles drop by what they
    contributed, their names are retired and jobs remove their files. Returns how many."""
    deleted = 0
    for user_id in user_ids:
        if User.objects.filter(pk=user_id).exists():
            account_delete(user_id=user_id)
            deleted += 1
    return deleted


def avatar_store(*, upload: UploadedFile[bytes]) -> str:
    """Check an uploaded picture like any photo, crop it square, and store it under a new public key.

    Raises UploadRejected (shown beside the field) or StorageUnavailable.
    """
    picture = avatar_render(upload=upload, size=upload.size or 0)
    with storage_errors_as_unavailable():
        return object_save(f"{AVATAR_PREFIX}{uuid.uuid4()}.webp", picture)


def profile_update(
    *,
    user: User,
    display_name: str,
    bio: str,
    avatar: UploadedFile[bytes] | None = None,
    remove_avatar: bool = False,
    default_licence: str = "",
) -> User:
    """Change what others see about a person. A new avatar is stored before the row changes;
    the old one is deleted only after the change commits, so a failure never leaves a broken picture."""
    old_avatar = user.avatar_key
    new_avatar = avatar_store(upload=avatar) if avatar is not None else ("" if remove_avatar else old_avatar)
    display_name = one_line(display_name)
    names_changed = display_name != user.display_name
    with transaction.atomic():
        user.display_name = display_name
        user.bio = bio.strip()
        user.avatar_key = new_avatar
        if default_licence:  # "" keeps the person's
            user.default_licence = default_licence
        user.save(update_fields=["display_name", "bio", "avatar_key", "default_licence"])
        if names_changed:
            # After commit, in a statement of its own: it locks the person's photos, and a
            # rendition job locks a photo and then this row (its owner's unfinished count), so
            # doing it under this row's lock could deadlock with an upload finishing.
            transaction.on_commit(lambda: photo_search_index_update(owner_id=user.pk))
            # Cards and grids show the owner's name.
            transaction.on_commit(lambda: photos_of_owner_forget(photo_ids=photo_ids_of_owner(owner_id=user.pk)))
        if old_avatar and old_avatar != new_avatar:
            stored_files_delete_later(names=[old_avatar])
    return user


# --- API tokens -------------------------------------------------------------------------

MAX_TOKENS_PER_USER = 50
TOUCH_EVERY = timedelta(minutes=15)  # last_used_at is for people, not an audit log: spare the writes


class TokenRefused(Exception):
    """Shown to the person who asked."""


def api_token_create(
    *, user: User, name: str, scope: str = TokenScope.READ, lifetime: timedelta | None = None
) -> tuple[ApiToken, str]:
    """Make a token and return it with its key, which is shown this once and never stored."""
    lifetime = lifetime or timedelta(days=settings.API_TOKEN_DEFAULT_DAYS)
    if not timedelta(0) < lifetime <= timedelta(days=settings.API_TOKEN_MAX_DAYS):
        raise TokenRefused(f"A token lives from 1 to {settings.API_TOKEN_MAX_DAYS} days.")
    if scope not in TokenScope.values:
        raise TokenRefused("A token is read-only or read-write.")
    now = timezone.now()
    with transaction.atomic():
        # The row lock serialises two requests of one person, so the cap below holds.
        User.objects.select_for_update().filter(pk=user.pk).first()
        ApiToken.objects.filter(user=user, expires_at__lt=now - timedelta(days=30)).delete()
        if ApiToken.objects.filter(user=user, expires_at__gt=now).count() >= MAX_TOKENS_PER_USER:
            raise TokenRefused(
                f"You have {MAX_TOKENS_PER_USER} live tokens already; revoke some on your account's API tokens page."
            )
        key = f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"
        token = ApiToken.objects.create(
            user=user,
            name=name.strip()[:80] or "API token",
            digest=token_digest(key),
            hint=key[: len(TOKEN_PREFIX) + 4],
            scope=scope,
            expires_at=now + lifetime,
        )
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Delete one of this person's tokens; True if there was one."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)


def api_token_touch(*, token: ApiToken) -> None:
    """Record that the token was used, at most once per TOUCH_EVERY."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


# --- Data export --------------------------------------------------------------------------

EXPORT_PREFIX = f"{PRIVATE_PREFIX}exports/"
EXPORT_REQUEST_EVERY = timedelta(hours=1)
EXPORT_ORPHAN_GRACE = timedelta(hours=6)  # longer than any build takes to record its zip


class ExportRefused(Exception):
    """Shown to the person who asked."""


def data_export_request(*, user: User) -> DataExport:
    """Queue a zip of this person's data; the job is sent once the row is committed.

    One at a time, and one an hour: each is a full copy of every original.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one request at a time per person
        latest = DataExport.objects.filter(user=user).first()
        if latest is not None and latest.status == ExportStatus.PENDING:
            return latest
        if latest is not None and timezone.now() - latest.created_at < EXPORT_REQUEST_EVERY:
            raise ExportRefused("You asked for an export less than an hour ago; please use that one.")
        export = DataExport.objects.create(user=user)
        _enqueue_export_build(export.pk)
    return export


def _enqueue_export_build(export_id: int) -> None:
    """In the transaction that made the row, through the outbox: a broker outage delays it, loses nothing."""
    from apps.accounts.tasks import build_data_export  # tasks import this module

    outbox_enqueue(build_data_export, args=[export_id], dedupe_key=f"build_data_export:{export_id}")


def data_export_build(*, export_id: int) -> None:
    """Write the zip straight into private storage, then mark the export ready (safe to rerun)."""
    export = DataExport.objects.filter(pk=export_id).select_related("user").first()
    if export is None or export.status == ExportStatus.READY:
        return
    key = f"{EXPORT_PREFIX}{uuid.uuid4()}.zip"
    try:
        with storage_errors_as_unavailable():
            summary = exports.archive_write(user=export.user, key=key, download_name=export_file_name(export))
    except Exception:
        object_delete_quietly(key)
        raise
    now = timezone.now()
    old_key = export.key
    updated = DataExport.objects.filter(pk=export_id, status=ExportStatus.PENDING).update(
        status=ExportStatus.READY,
        key=key,
        bytes=summary.bytes,
        photo_count=summary.photos,
        finished_at=now,
        expires_at=now + timedelta(hours=settings.EXPORT_LINK_HOURS),
    )
    if not updated:  # deleted meanwhile (the account went), or another run finished first
        object_delete_quietly(key)
        return
    if old_key:
        object_delete_quietly(old_key)
    for earlier in DataExport.objects.filter(user_id=export.user_id, pk__lt=export_id):
        # One live export per person: a new one replaces the last at once.
        if earlier.key:
            object_delete_quietly(earlier.key)
        earlier.delete()
    logger.info("data export %s ready: %d photos, %d bytes", export_id, summary.photos, summary.bytes)


def export_file_name(export: DataExport) -> str:
    return f"photosite-{export.user.username}-{export.created_at:%Y-%m-%d}.zip"


def data_export_mark_failed(*, export_id: int, reason: str) -> None:
    DataExport.objects.filter(pk=export_id, status=ExportStatus.PENDING).update(
        status=ExportStatus.FAILED, failure_reason=reason[:300], finished_at=timezone.now()
    )


def data_export_expire(*, export_id: int) -> None:
    """Remove an export whose link has expired: the zip, then the row (safe to rerun)."""
    export = DataExport.objects.filter(pk=export_id).first()
    if export is None or (export.expires_at is not None and export.expires_at > timezone.now()):
        return
    if export.key:
        object_delete_quietly(export.key)
    export.delete()


def data_exports_sweep(*, now: datetime | None = None) -> int:
    """Remove expired exports (zip, then row), and zips no export names (a build that died
    between writing and recording, a delayed expiry job the embedded broker lost). Returns
    how many went."""
    now = now or timezone.now()
    removed = 0
    for export_id in DataExport.objects.filter(expires_at__lt=now).values_list("pk", flat=True):
        data_export_expire(export_id=export_id)
        removed += 1
    known = set(DataExport.objects.exclude(key="").values_list("key", flat=True))
    for key, modified_at in object_list(EXPORT_PREFIX):
        if key not in known and modified_at < now - EXPORT_ORPHAN_GRACE:
            object_delete_quietly(key)
            removed += 1
    return removed


def object_delete_quietly(key: str) -> None:
    try:
        object_delete(key)
    except Exception:  # a cleanup that failed is retried by the storage sweep, not by failing the caller
        logger.warning("could not delete %s", key, exc_info=True)


# --- Account deletion ---------------------------------------------------------------------

DELETE_BATCH = 500  # storage keys per cleanup job


def account_delete(*, user_id: int) -> None:
    """Delete a person and everything they made, at once; jobs then remove their stored files.

    Counters on other people's rows (likes and comments on their photos, followers and
    following) drop by what this person contributed, in the same transaction. The user
    name is retired for USERNAME_COOLING_OFF_DAYS so nobody can pass for them.
    """
    with transaction.atomic():
        # Their photos first, then their row: a rendition job locks a photo and then its owner's
        # row (the unfinished count), so taking the row first could deadlock with an upload
        # finishing (as a rename did).
        list(Photo.objects.select_for_update().filter(owner_id=user_id).order_by("pk").values_list("pk", flat=True))
        # The row lock makes a concurrent follow, like or comment by or of this person wait,
        # then fail on the missing row, instead of moving a counter we are about to fix.
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            return
        own_photos = Photo.objects.filter(owner=user)
        photo_ids = list(own_photos.values_list("pk", flat=True))
        tag_ids = tag_ids_of_owners(owner_ids=[user.pk])  # their photos leave these tags' counts
        # Recounted after the deletes below: a deactivated person's likes were already taken
        # off when they were deactivated, and unliking them again would count them twice.
        counted = counted_objects_of_users(user_ids=[user.pk])
        names = [
            *own_photos.values_list("original", flat=True),
            *Rendition.objects.filter(photo__owner=user).values_list("file", flat=True),
            *DataExport.objects.filter(user=user).exclude(key="").values_list("key", flat=True),
            *([user.avatar_key] if user.avatar_key else []),
            *superseded_files_take(photo_ids=photo_ids),  # files a rebuild replaced go now too
        ]

        # What this person did to other people's things goes through the social services, which
        # keep those things' counts right however they are kept: their likes and comments on
        # others' photos, and their follows both ways. (Rows on their own photos go with them.)
        liked_ids = list(Like.objects.filter(user=user).exclude(photo__owner=user).values_list("photo_id", flat=True))
        for photo in Photo.objects.filter(pk__in=liked_ids):
            like_set(user=user, photo=photo, liked=False)
        comments = Comment.objects.filter(author=user).exclude(photo__owner=user)
        commented_ids = list(comments.values_list("photo_id", flat=True).distinct())
        for comment_id in comments.values_list("pk", flat=True):
            comment_delete(comment_id=comment_id)
        for followee in User.objects.filter(pk__in=Follow.objects.filter(follower=user).values("followee")):
            follow_set(follower=user, followee=followee, following=False)
        for follower in User.objects.filter(pk__in=Follow.objects.filter(followee=user).values("follower")):
            follow_set(follower=follower, followee=user, following=False)

        RetiredUsername.objects.update_or_create(
            username=user.username.lower(), defaults={"retired_at": timezone.now()}
        )
        own_photos.delete()  # with their renditions, tags, likes, comments, album entries, reports
        user.delete()  # with albums, follows, likes, comments, tokens, exports, email addresses
        counts_recount(objects=counted)
        listing_counts_recount(owner_ids=[user_id], tag_ids=tag_ids)

        photo_cards_forget_on_commit(photo_ids=[*liked_ids, *commented_ids])
        transaction.on_commit(lambda: photos_of_owner_forget(photo_ids=photo_ids))
        names = [name for name in names if name]
        for start in range(0, len(names), DELETE_BATCH):  # through the outbox, in this transaction
            stored_files_delete_later(names=names[start : start + DELETE_BATCH])
    logger.info("account %s deleted with %d photos", user_id, len(photo_ids), extra={"labels.user_id": user_id})


def retired_usernames_release() -> int:
    """Forget retired user names past the cooling-off period (they may be taken again)."""
    since = timezone.now() - timedelta(days=settings.USERNAME_COOLING_OFF_DAYS)
    deleted, _ = RetiredUsername.objects.filter(retired_at__lte=since).delete()
    return deleted

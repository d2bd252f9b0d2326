"""Writes for photos: create/edit/delete, visibility and moderation, renditions' records.

HTML views, API views, admin actions and actors all call these functions. The
Pillow work is in imaging.py, upload limits and direct-upload grants in
uploads.py, tag parsing in tags.py, cache keys in caching.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from typing import cast

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import User
from apps.albums.models import Album
from apps.albums.services import AlbumRefused, album_add_photos
from apps.photos.caching import listing_scopes_of, photo_changed_on_commit
from apps.photos.imaging import (
    PIPELINE_VERSION,
    CheckedImage,
    RenditionFailed,
    check_image_upload,
    render_renditions,
    renditions_expected,
)
from apps.photos.models import (
    SEARCH_CONFIG,
    TAG_PUBLIC_PHOTOS,
    USER_PUBLIC_PHOTOS,
    USER_READY_PHOTOS,
    Photo,
    PhotoStatus,
    PhotoTag,
    Rendition,
    SupersededFile,
    Tag,
    Visibility,
    stored_name,
)
from apps.photos.uploads import INCOMING_PREFIX, DuplicateUpload, GrantUsed, UploadRejected, upload_size_check
from photosite.counters import counter_correct, counters_add
from photosite.outbox import outbox_enqueue
from photosite.purge import media_purge
from photosite.storage import (
    PRIVATE_PREFIX,
    PUBLIC_PREFIX,
    StorageUnavailable,
    file_save,
    object_copy,
    object_delete,
    objects_save,
    storage_errors_as_unavailable,
)
from photosite.text import one_line

logger = logging.getLogger(__name__)


# --- Listing counts: how many photos a profile and a tag page show ----------------------


def _listing_counts_of(photo: Photo) -> set[tuple[str, int]]:
    """The listing counts this photo adds one to as it is now (its tags, when public: one query)."""
    if photo.status != PhotoStatus.READY:
        return set()
    counts = {(USER_READY_PHOTOS, photo.owner_id)}
    if photo.visibility == Visibility.PUBLIC and photo.hidden_at is None:
        counts.add((USER_PUBLIC_PHOTOS, photo.owner_id))
        if User.objects.filter(pk=photo.owner_id, is_active=True).exists():  # tag pages hide deactivated people
            tag_ids = PhotoTag.objects.filter(photo_id=photo.pk).values_list("tag_id", flat=True)
            counts.update((TAG_PUBLIC_PHOTOS, tag_id) for tag_id in tag_ids)
    return counts


def _listing_counts_move(before: set[tuple[str, int]], after: set[tuple[str, int]]) -> None:
    """Move the counts a photo left or entered, in the transaction that moved it."""
    counters_add({**dict.fromkeys(after - before, 1), **dict.fromkeys(before - after, -1)})


# What each listing count counts: the rows listing_counts_reconcile holds them to.
LISTING_EXACT_COUNTS = {
    USER_PUBLIC_PHOTOS: """SELECT p.owner_id AS object_id, COUNT(*) AS total FROM photos_photo p
        WHERE p.visibility = 'public' AND p.status = 'ready' AND p.hidden_at IS NULL GROUP BY p.owner_id""",
    USER_READY_PHOTOS: """SELECT p.owner_id AS object_id, COUNT(*) AS total FROM photos_photo p WHERE p.status = 'ready'
        GROUP BY p.owner_id""",
    TAG_PUBLIC_PHOTOS: """SELECT pt.tag_id AS object_id, COUNT(*) AS total FROM photos_photo_tags pt
        JOIN photos_photo p ON p.id = pt.photo_id JOIN accounts_user u ON u.id = p.owner_id AND u.is_active
        WHERE p.visibility = 'public' AND p.status = 'ready' AND p.hidden_at IS NULL GROUP BY pt.tag_id""",
}


def listing_counts_reconcile() -> dict[str, int]:
    """Repair every profile and tag count, and every person's count of unfinished photos, from
    the photos; returns how many of each were wrong."""
    fixed = {name: counter_correct(name, exact_sql=exact) for name, exact in LISTING_EXACT_COUNTS.items()}
    return {**fixed, "user.unfinished_photos": unfinished_counts_reconcile()}


def unfinished_counts_reconcile() -> int:
    """Set User.unfinished_photo_count to its photos' for everyone whose count is off; returns how many were.

    Safe while people upload: each suspect is recounted holding their row, and every status
    change moves the count on that row in its own transaction. One that moved it already has
    committed once we hold the row, and is counted; one that has not yet moves ours after us.
    """
    unfinished = Photo.objects.exclude(status=PhotoStatus.READY).order_by()
    exact = dict(unfinished.values("owner_id").annotate(total=Count("id")).values_list("owner_id", "total"))
    kept = dict(User.objects.exclude(unfinished_photo_count=0).values_list("pk", "unfinished_photo_count"))
    wrong = 0
    for owner_id in sorted(pk for pk in exact.keys() | kept.keys() if exact.get(pk, 0) != kept.get(pk, 0)):
        with transaction.atomic():
            if not User.objects.select_for_update().filter(pk=owner_id).exists():
                continue  # deleted meanwhile
            total = unfinished.filter(owner_id=owner_id).count()
            wrong += (
                User.objects.filter(pk=owner_id)
                .exclude(unfinished_photo_count=total)
                .update(unfinished_photo_count=total)
            )
    return wrong


def listing_counts_recount(*, owner_ids: Sequence[int] = (), tag_ids: Sequence[int] = ()) -> int:
    """Recount some people's profile counts and some tags' counts (after their owners were
    deactivated, reactivated or deleted), in the caller's transaction; returns how many were wrong."""
    wrong = 0
    for name in (USER_PUBLIC_PHOTOS, USER_READY_PHOTOS):
        wrong += counter_correct(name, exact_sql=LISTING_EXACT_COUNTS[name], object_ids=list(owner_ids))
    return wrong + counter_correct(
        TAG_PUBLIC_PHOTOS, exact_sql=LISTING_EXACT_COUNTS[TAG_PUBLIC_PHOTOS], object_ids=list(tag_ids)
    )


def _unfinished_count_add(owner_id: int, delta: int) -> None:
    """Move the owner's count of photos not ready yet (User.unfinished_photo_count, which spares
    the home page its "still processing" query) in the transaction that changed a status.
    Never below 0: a count too low would hide the strip, one too high only costs a query."""
    count = Greatest(F("unfinished_photo_count") + delta, 0)
    User.objects.filter(pk=owner_id).update(unfinished_photo_count=count)


def tag_ids_of_owners(*, owner_ids: list[int]) -> list[int]:
    """Every tag on these people's photos (whose counts change with them)."""
    return sorted(set(PhotoTag.objects.filter(photo__owner_id__in=owner_ids).values_list("tag_id", flat=True)))


def _title_from_filename(name: str) -> str:
    stem = PurePath(name or "").stem.replace("_", " ").replace("-", " ").strip()
    return (stem or "Untitled")[:200]


@transaction.atomic
def photo_create(
    *,
    owner: User,
    upload: UploadedFile[bytes],
    title: str = "",
    caption: str = "",
    alt_text: str = "",
    visibility: str = Visibility.PUBLIC,
    tags: list[str] | None = None,
    licence: str = "",
    album_id: int | None = None,
) -> Photo:
    """Check, store and record an upload, then queue its renditions once committed.

    Either the object and the row both exist afterwards, or neither does.
    """
    album = _album_for_upload(owner, album_id)
    checked = check_image_upload(upload=upload, size=upload.size or 0)
    duplicate_check(owner=owner, sha256=checked.sha256)  # before a byte is stored
    photo = _photo_for(
        owner, checked, title.strip() or _title_from_filename(upload.name or ""), caption, alt_text, visibility
    )
    photo.licence = licence or owner.default_licence
    with storage_errors_as_unavailable():
        stored_name = file_save(original_key_for(photo=photo, checked=checked), upload, content_type=checked.mime_type)
    return _photo_record(photo, stored_name, tags or [], album=album)


@transaction.atomic
def photo_create_from_incoming(
    *,
    owner: User,
    incoming_key: str,
    filename: str = "",
    title: str = "",
    caption: str = "",
    alt_text: str = "",
    visibility: str = Visibility.PUBLIC,
    tags: list[str] | None = None,
    licence: str = "",
    album_id: int | None = None,
) -> Photo:
    """Check an original the browser uploaded straight to storage, then record it like any upload.

    A refused object is deleted at once; an accepted one moves to the originals prefix,
    stored as the type it decoded as. Raises GrantUsed when this incoming key already
    made a photo (call after uploads.direct_upload_claim).
    """
    if not incoming_key.startswith(INCOMING_PREFIX):
        raise UploadRejected("The upload did not arrive. Please try again.")
    album = _album_for_upload(owner, album_id)
    try:
        with storage_errors_as_unavailable():
            if not default_storage.exists(incoming_key):
                raise UploadRejected("The upload did not arrive. Please try again.")
            try:
                size = default_storage.size(incoming_key)
                upload_size_check(size=size)  # before a byte of an oversized object is read
                with default_storage.open(incoming_key, "rb") as upload:
                    checked = check_image_upload(upload=upload, size=size)
            except UploadRejected:
                object_delete(incoming_key)
                raise
    except (UploadRejected, StorageUnavailable):
        # A concurrent completion of the same grant may have made its photo and removed
        # the file while this one read it: say so, rather than "missing" or "unavailable".
        if Photo.objects.filter(incoming_key=incoming_key).exists():
            raise GrantUsed(GrantUsed.message) from None
        raise
    try:
        duplicate_check(owner=owner, sha256=checked.sha256)
    except DuplicateUpload:
        # This grant's own photo (a replayed completion, its copy not yet removed) is no duplicate.
        if Photo.objects.filter(incoming_key=incoming_key).exists():
            raise GrantUsed(GrantUsed.message) from None
        object_delete(incoming_key)
        raise
    photo = _photo_for(owner, checked, title.strip() or _title_from_filename(filename), caption, alt_text, visibility)
    photo.licence = licence or owner.default_licence  # "" (not given): the owner's default
    stored_name = original_key_for(photo=photo, checked=checked)
    photo.original.name = stored_name
    photo.incoming_key = incoming_key
    try:
        # The row is the grant's claim, inserted before anything is copied: a second
        # completion of the grant (another request, another web process) waits here for
        # this transaction, then fails on the unique incoming key. A rollback frees it.
        with transaction.atomic():
            photo.save()
    except IntegrityError as error:
        if "incoming_key" in str(error):
            raise GrantUsed(GrantUsed.message) from None
        raise
    with storage_errors_as_unavailable():
        object_copy(incoming_key, stored_name, content_type=checked.mime_type)
    photo = _photo_record(photo, stored_name, tags or [], saved=True, album=album)
    transaction.on_commit(lambda: object_delete(incoming_key))
    return photo


def duplicate_check(*, owner: User, sha256: str) -> None:
    """Raise DuplicateUpload if this person already has a photo of these exact bytes.

    Two uploads of one file at the same moment may both pass (there is no lock across
    them): the check is for the person who picks the same file again, not a guarantee.
    """
    # Any one of them, unordered: ordering by time would walk the owner's index instead of the digest's.
    same_bytes = Photo.objects.filter(owner=owner, original_sha256=sha256).only("pk", "title").order_by()[:1]
    for existing in same_bytes:
        raise DuplicateUpload(photo_id=existing.pk, title=existing.title)


def original_key_for(*, photo: Photo, checked: CheckedImage) -> str:
    return f"{PRIVATE_PREFIX}originals/{photo.key}.{checked.extension}"


def camera_copies_set(photo: Photo) -> None:
    """Copy the camera, lens and date out of the camera facts into the columns timelines and
    search filters read (Photo.timeline_at says which date); a new photo counts as uploaded now."""
    facts = photo.camera_facts or {}
    photo.camera = f"{facts.get('make', '')} {facts.get('model', '')}".strip()[:201]
    photo.lens = str(facts.get("lens", ""))[:100]
    # An unsaved photo has no created_at yet (auto_now_add sets it on insert; the stubs say datetime).
    photo.timeline_at = cast("datetime | None", photo.created_at) or timezone.now()
    if photo.show_camera_facts and facts.get("taken_at"):
        try:
            taken = datetime.strptime(str(facts["taken_at"]), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        except ValueError:
            return  # not a date a camera wrote: the upload time stands
        photo.timeline_at = taken


def _photo_for(owner: User, checked: CheckedImage, title: str, caption: str, alt_text: str, visibility: str) -> Photo:
    photo = Photo(
        owner=owner,
        title=one_line(title)[:200] or "Untitled",
        caption=caption,
        alt_text=alt_text,
        visibility=visibility,
        original_format=checked.format,
        original_sha256=checked.sha256,
        original_bytes=checked.bytes,
        original_width=checked.width,
        original_height=checked.height,
        camera_facts=checked.camera_facts,
    )
    camera_copies_set(photo)
    return photo


def _album_for_upload(owner: User, album_id: int | None) -> Album | None:
    """The owner's album an upload goes straight into, checked before anything is stored."""
    if album_id is None:
        return None
    album = Album.objects.filter(pk=album_id, owner=owner).first()
    if album is None:
        raise UploadRejected(gettext("Choose one of your own albums."))
    return album


def _photo_record(
    photo: Photo, stored_name: str, tags: list[str], *, saved: bool = False, album: Album | None = None
) -> Photo:
    """Save the row for a stored original (unless `saved`: a direct upload's row is saved
    first, as its grant's claim) with its tags and into its album; remove the object if that fails."""
    try:
        with transaction.atomic():
            if not saved:
                photo.original.name = stored_name
                photo.save()
            _unfinished_count_add(photo.owner_id, 1)  # a new photo is processing
            _tags_set(photo, tags)
            if album is not None:
                try:
                    album_add_photos(album=album, photo_ids=[photo.pk])
                except AlbumRefused as refusal:  # full: the upload is refused whole, as any refusal
                    raise UploadRejected(str(refusal)) from None
            photo_search_index_update(photo_ids=[photo.pk])
    except BaseException:
        object_delete(stored_name)
        raise
    # Still processing: in no listing yet (rendition_make_all bumps them once it is ready).
    photo_changed_on_commit(photo_id=photo.pk, scopes=())
    _enqueue_renditions(photo.pk)
    return photo


def _enqueue_renditions(photo_id: int) -> None:
    """Queue a photo's renditions in the current transaction, through the outbox: a broker
    outage delays them and loses none. While one waits, asking again adds nothing."""
    from apps.photos.tasks import make_renditions  # tasks import this module

    outbox_enqueue(make_renditions, args=[photo_id], dedupe_key=f"make_renditions:{photo_id}")


def photo_update(
    *,
    photo: Photo,
    title: str,
    caption: str,
    alt_text: str,
    visibility: str,
    show_camera_facts: bool = True,
    tags: list[str] | None = None,
    licence: str | None = None,
) -> Photo:
    """Change what people see about a photo; crossing into or out of private moves its files.
    `licence` None or "" keeps the photo's."""
    with transaction.atomic():
        # The lock orders this after a rendition job that is recording files for the old visibility.
        locked = Photo.objects.select_for_update().get(pk=photo.pk)
        was_public = renditions_are_public(locked)
        scopes_before = listing_scopes_of(locked)
        counts_before = _listing_counts_of(locked)
        photo.title = one_line(title)[:200] or locked.title
        photo.caption = caption
        photo.alt_text = alt_text
        photo.visibility = visibility
        photo.show_camera_facts = show_camera_facts
        photo.licence = licence or locked.licence  # (a ModelForm may have set it to "" already)
        camera_copies_set(photo)  # hiding the camera facts hides the date they gave the timeline
        photo.save(
            update_fields=[
                "title",
                "caption",
                "alt_text",
                "visibility",
                "show_camera_facts",
                "licence",
                "camera",
                "lens",
                "timeline_at",
                "updated_at",
            ]
        )
        photo.hidden_at = locked.hidden_at  # the locked row's: a moderator may have hidden it since it was read
        if renditions_are_public(photo) != was_public:
            _renditions_move_to_match_visibility(photo)
        if tags is not None:
            _tags_set(photo, tags)
        photo_search_index_update(photo_ids=[photo.pk])
        locked.visibility = visibility  # the locked row's status and hiding, with the new visibility and tags
        _listing_counts_move(counts_before, _listing_counts_of(locked))
        # Withdrawn: an edit may take away what visitors saw (the photo itself, a place, a caption).
        photo_changed_on_commit(photo_id=photo.pk, scopes=scopes_before | listing_scopes_of(photo), withdrawn=True)
    return photo


def _tags_set(photo: Photo, names: list[str]) -> None:
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=name) for name in names if name not in existing]
    # ignore_conflicts: another upload may create the same new tag at the same moment.
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    photo.tags.set(Tag.objects.filter(name__in=names), through_defaults={"photo_created_at": photo.created_at})


def photo_search_index_update(*, photo_ids: list[int] | None = None, owner_id: int | None = None) -> None:
    """Rebuild the search vectors of some photos (by id, or all of one owner's after a name change).

    One statement, because the vector joins the tags and the owner's names. PostgreSQL
    only; embedded mode searches the columns directly.
    """
    if connection.vendor != "postgresql":
        return
    parameter: list[int] | int | bool
    if photo_ids is not None:
        condition, parameter = "p.id = ANY(%s)", photo_ids
    elif owner_id is not None:
        condition, parameter = "p.owner_id = %s", owner_id
    else:
        condition, parameter = "%s", True
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE photos_photo p SET search_vector =
                setweight(to_tsvector(%s, p.title), 'A')
                || setweight(to_tsvector(%s, coalesce((
                    SELECT string_agg(t.name, ' ') FROM photos_photo_tags pt
                    JOIN photos_tag t ON t.id = pt.tag_id WHERE pt.photo_id = p.id), '')), 'B')
                || setweight(to_tsvector(%s, u.username || ' ' || u.display_name), 'B')
                || setweight(to_tsvector(%s, p.caption), 'C')
            FROM accounts_user u
            WHERE u.id = p.owner_id AND {condition}
            """,  # noqa: S608 (condition is one of the three literals above)
            [SEARCH_CONFIG] * 4 + [parameter],
        )


def renditions_are_public(photo: Photo) -> bool:
    """Whether a photo's renditions belong under the public prefix, readable without a
    signature and cached by the CDN: only while anyone may see the photo (public or
    unlisted, and not hidden by a moderator)."""
    return photo.visibility != Visibility.PRIVATE and photo.hidden_at is None


def _renditions_move_to_match_visibility(photo: Photo) -> None:
    """Copy each rendition to the key its photo's visibility calls for; old objects go after commit.

    Call while holding the photo's row lock. Copy first, delete later: a failure
    midway leaves every recorded file in place. The job that deletes the old objects
    also purges their public URLs from the caches in front (a takedown), and on the way
    out of public it takes the files a rebuild superseded too, without their grace period.
    """
    old_names = []
    for rendition in photo.renditions.all():
        old_name = stored_name(rendition.file)
        new_name = rendition_key_for(photo=photo, size=rendition.size, fmt=_extension(old_name))
        if new_name == old_name:
            continue
        _superseded_files_forget(names=[new_name])  # live again, under this photo's lock
        object_copy(old_name, new_name)
        old_names.append(old_name)
        rendition.file.name = new_name
        rendition.save(update_fields=["file"])
    if not renditions_are_public(photo):
        old_names += superseded_files_take(photo_ids=[photo.pk])
    if old_names:
        stored_files_delete_later(names=old_names)


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def photo_hide(*, photo: Photo, moderator: User, reason: str) -> None:
    """A moderator takes a photo out of every page and listing; its owner still sees it, with the reason."""
    with transaction.atomic():
        # The lock orders two moderators hiding at once: the counts move once.
        locked = Photo.objects.select_for_update().get(pk=photo.pk)
        scopes_before = listing_scopes_of(locked)
        counts_before = _listing_counts_of(locked)
        was_public = renditions_are_public(locked)
        photo.hidden_at = locked.hidden_at = timezone.now()
        photo.hidden_by = moderator
        photo.hidden_reason = reason[:200]
        photo.visibility = locked.visibility
        photo.save(update_fields=["hidden_at", "hidden_by", "hidden_reason", "updated_at"])
        if was_public:
            # Off the public prefix, so its old URLs stop answering once the copies in front are purged.
            _renditions_move_to_match_visibility(photo)
        _listing_counts_move(counts_before, _listing_counts_of(locked))
        photo_changed_on_commit(photo_id=photo.pk, scopes=scopes_before, withdrawn=True)


def photo_unhide(*, photo: Photo) -> None:
    with transaction.atomic():
        locked = Photo.objects.select_for_update().get(pk=photo.pk)
        counts_before = _listing_counts_of(locked)
        was_public = renditions_are_public(locked)
        photo.hidden_at = locked.hidden_at = None
        photo.hidden_by = None
        photo.hidden_reason = ""
        photo.visibility = locked.visibility
        photo.save(update_fields=["hidden_at", "hidden_by", "hidden_reason", "updated_at"])
        if renditions_are_public(photo) != was_public:
            _renditions_move_to_match_visibility(photo)
        _listing_counts_move(counts_before, _listing_counts_of(locked))
        photo_changed_on_commit(photo_id=photo.pk, scopes=listing_scopes_of(photo))


def photo_delete(*, photo_id: int) -> None:
    """Delete the row now (it vanishes from every page at once); a job removes the objects."""
    with transaction.atomic():
        # The row lock orders us after a rendition job that is recording its files,
        # so the names collected below include every object that job stored.
        photo = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if photo is None:
            return
        names = [
            photo.original.name,
            *photo.renditions.values_list("file", flat=True),
            *superseded_files_take(photo_ids=[photo_id]),  # now, not after their grace period
        ]
        scopes_before = listing_scopes_of(photo)
        _listing_counts_move(_listing_counts_of(photo), set())
        if photo.status != PhotoStatus.READY:
            _unfinished_count_add(photo.owner_id, -1)
        photo.delete()
        photo_changed_on_commit(photo_id=photo_id, scopes=scopes_before, withdrawn=True)
        stored_files_delete_later(names=names)


def stored_files_delete_later(*, names: list[str], purge: bool = True) -> None:
    """Queue a job that removes these objects, in the transaction that removes the rows naming them.

    With `purge` (a takedown: delete, hide, private), the job also purges the public ones'
    URLs from nginx's cache or the CDN. A rebuild's superseded files wait for their grace
    period instead (superseded_files_keep).
    """
    from apps.photos.tasks import delete_stored_files  # tasks import this module

    outbox_enqueue(delete_stored_files, args=[names], kwargs={"purge": purge})


def stored_files_delete(*, names: list[str], purge: bool = True) -> None:
    """Remove objects no row names any more, then purge the public ones' cached copies.

    Safe to rerun: an object already gone is not an error. An object a row names again
    is kept: a photo made public again (or unhidden) before this job ran copied its
    renditions back to the very keys this job was asked to remove.
    """
    names = [name for name in names if name]
    with transaction.atomic():
        # Lock the photos these keys belong to: a move back to these keys (photo_update,
        # photo_unhide copy under this lock) either committed before, and its rows are
        # seen below, or waits until the objects are gone and then copies them again.
        photo_keys = {match.group(0) for name in names if (match := _PHOTO_KEY.search(name))}
        list(Photo.objects.select_for_update().filter(key__in=photo_keys).values_list("pk", flat=True))
        named = set(Rendition.objects.filter(file__in=names).values_list("file", flat=True))
        named |= set(Photo.objects.filter(original__in=names).values_list("original", flat=True))
        gone = [name for name in names if name not in named]
        for name in gone:
            object_delete(name)
    if purge:
        media_purge(keys=gone)


# --- Superseded renditions: kept a while for the pages that still link them ----------

SUPERSEDED_SWEEP_BATCH = 200  # photos looked up at a time; each is its own transaction


def superseded_files_keep(*, photo_id: int, names: list[str]) -> None:
    """Remove these files after PHOTOS_SUPERSEDED_GRACE_SECONDS, not now: a re-render replaced
    them, and pages made before it (open in a browser, kept by a cache) still link them.

    Call in the transaction that stops the photo's rows naming them, holding its row lock.
    A name already waiting waits again from now: it was linked until this commits.
    """
    delete_after = timezone.now() + timedelta(seconds=settings.PHOTOS_SUPERSEDED_GRACE_SECONDS)
    SupersededFile.objects.bulk_create(
        [SupersededFile(photo_id=photo_id, name=name, delete_after=delete_after) for name in names],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["photo_id", "delete_after"],
    )


def _superseded_files_forget(*, names: list[str]) -> None:
    """These keys are a rendition's again: they are no longer due."""
    SupersededFile.objects.filter(name__in=names).delete()


def superseded_files_take(*, photo_ids: Sequence[int]) -> list[str]:
    """The superseded files of these photos, no longer waiting for their grace period: for a
    takedown or a delete, which remove them at once with the photos' other objects (and purge
    the public ones). Call holding the photos' row locks, in the transaction that queues that
    removal. A name a sweep is removing right now is returned too: the purge still applies."""
    waiting = SupersededFile.objects.filter(photo_id__in=photo_ids)
    names = list(waiting.values_list("name", flat=True))
    waiting.filter(name__in=names).delete()
    return names


def superseded_files_sweep(*, now: datetime | None = None, batch_size: int = SUPERSEDED_SWEEP_BATCH) -> int:
    """Remove superseded files past their grace period, one photo per transaction; returns
    how many it removed (or handed to a takedown's job).

    Each photo's files go under its row lock, the lock every writer of its files holds (a
    rendition job, a visibility move, a takedown), so none of them can put a live file under
    a name this is removing; it is taken with SKIP LOCKED, and a busy photo waits for the
    next run. A takedown waiting for that lock waits for one photo's few deletes, never a
    batch's. Two sweeps at once never take the same rows; a failure leaves the photo's rows
    for the next run (removing an object twice is harmless). A file a rendition row names
    again (a rebuild made the same key) is kept, its row dropped.
    """
    due_at = now or timezone.now()
    removed = 0
    passed_over: set[int] = set()  # photos another transaction holds: the next run's
    while True:
        photo_ids = list(
            SupersededFile.objects.filter(delete_after__lte=due_at)
            .exclude(photo_id__in=passed_over)
            .order_by("photo_id")
            .values_list("photo_id", flat=True)
            .distinct()[:batch_size]
        )
        if not photo_ids:
            return removed
        for photo_id in photo_ids:
            taken = _superseded_files_of_photo_remove(photo_id=photo_id, due_at=due_at)
            if taken is None:
                passed_over.add(photo_id)
            else:
                removed += taken


def _superseded_files_of_photo_remove(*, photo_id: int, due_at: datetime) -> int | None:
    """One photo's due files, removed under its row lock; None if another holds it or them."""
    with transaction.atomic():
        photo = (
            Photo.objects.select_for_update(skip_locked=True)
            .filter(pk=photo_id)
            .only("pk", "visibility", "hidden_at")
            .first()
        )
        if photo is None and Photo.objects.filter(pk=photo_id).exists():
            return None  # a job, a move or a takedown has it now
        due = list(
            SupersededFile.objects.select_for_update(skip_locked=True)
            .filter(photo_id=photo_id, delete_after__lte=due_at)
            .values_list("pk", "name")
        )
        if not due:
            return None
        names = [name for _, name in due]
        in_use = set(Rendition.objects.filter(file__in=names).values_list("file", flat=True))
        taken_down = []
        for name in names:
            if name in in_use:
                continue
            if name.startswith(PUBLIC_PREFIX) and (photo is None or not renditions_are_public(photo)):
                # Its photo went since, or left public: its public URLs also leave the caches
                # in front, as any takedown's do.
                taken_down.append(name)
            else:
                object_delete(name)  # no purge: an old key of a public photo, nothing secret
        if taken_down:
            stored_files_delete_later(names=taken_down)
        SupersededFile.objects.filter(pk__in=[pk for pk, _ in due]).delete()
        return len(names) - len(in_use & set(names))


# A photo's storage key (a UUID) inside its objects' keys.
_PHOTO_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def photo_mark_failed(*, photo_id: int, reason: str) -> None:
    logger.warning("photo %s failed: %s", photo_id, reason, extra={"labels.photo_id": photo_id})
    Photo.objects.filter(pk=photo_id).exclude(status=PhotoStatus.READY).update(
        status=PhotoStatus.FAILED, failure_reason=reason[:500]
    )
    photo_changed_on_commit(photo_id=photo_id, scopes=())  # a photo that is not ready is in no listing


@transaction.atomic
def photo_retry_renditions(*, photo: Photo) -> None:
    # Locked, so a rendition job finishing meanwhile and this agree on whether it was ready.
    status = Photo.objects.select_for_update().filter(pk=photo.pk).values_list("status", flat=True).first()
    if status == PhotoStatus.READY:  # a ready photo rendered again (admin, storage_sweep) shows as processing
        _unfinished_count_add(photo.owner_id, 1)
    photo.status = PhotoStatus.PROCESSING
    photo.failure_reason = ""
    photo.save(update_fields=["status", "failure_reason", "updated_at"])
    photo_changed_on_commit(photo_id=photo.pk, scopes=())  # failed before, processing now: in no listing
    _enqueue_renditions(photo.pk)


@transaction.atomic
def photos_retry_failed(*, hours: int = 24) -> int:
    """Queue every photo that failed in the last `hours` to render again (the operators' button)."""
    photo_ids = list(
        Photo.objects.filter(
            status=PhotoStatus.FAILED, updated_at__gte=timezone.now() - timedelta(hours=hours)
        ).values_list("pk", flat=True)
    )
    # Only those still failed (both count as unfinished): one made ready meanwhile stays ready.
    Photo.objects.filter(pk__in=photo_ids, status=PhotoStatus.FAILED).update(
        status=PhotoStatus.PROCESSING, failure_reason=""
    )
    for photo_id in photo_ids:
        photo_changed_on_commit(photo_id=photo_id, scopes=())  # failed before, processing now: in no listing
        _enqueue_renditions(photo_id)
    return len(photo_ids)


@transaction.atomic
def photos_queue_rebuild(*, photo_ids: list[int]) -> None:
    """Queue a re-render of these photos on the maintenance queue, through the outbox.

    In place: they stay ready and listed with their current renditions, which
    rendition_make_all swaps for the new ones in one transaction. A job still waiting
    in the outbox is not doubled; one already in the broker may run twice, harmlessly.
    """
    from apps.photos.tasks import rebuild_renditions  # tasks import this module

    for photo_id in photo_ids:
        outbox_enqueue(rebuild_renditions, args=[photo_id], dedupe_key=f"rebuild_renditions:{photo_id}")


@transaction.atomic
def photos_mark_processing(*, photo_ids: list[int]) -> None:
    """Show these photos as processing (their renditions are being rebuilt): they leave
    their listings and counts until rendition_make_all makes them ready again."""
    for photo in Photo.objects.select_for_update().filter(pk__in=photo_ids).order_by("pk"):
        scopes_before, counts_before = listing_scopes_of(photo), _listing_counts_of(photo)
        if photo.status == PhotoStatus.READY:
            _unfinished_count_add(photo.owner_id, 1)
        photo.status = PhotoStatus.PROCESSING
        photo.failure_reason = ""
        photo.save(update_fields=["status", "failure_reason", "updated_at"])
        _listing_counts_move(counts_before, set())
        photo_changed_on_commit(photo_id=photo.pk, scopes=scopes_before)


@transaction.atomic
def photo_requeue_unfinished(*, before: datetime | None = None, limit: int = 1000) -> int:
    """Queue renditions again for photos still processing: after an embedded-mode restart, and
    from the reaper every minute for photos whose job was lost (a broker flushed, a message
    removed by hand). A job still waiting in the outbox is not doubled, and each photo's clock
    restarts, so one whose job is merely slow is asked about again only a period later."""
    photos = Photo.objects.filter(status=PhotoStatus.PROCESSING)
    if before is not None:
        photos = photos.filter(updated_at__lt=before)
    photo_ids = list(photos.order_by("updated_at").values_list("pk", flat=True)[:limit])
    Photo.objects.filter(pk__in=photo_ids).update(updated_at=timezone.now())
    for photo_id in photo_ids:
        _enqueue_renditions(photo_id)
    return len(photo_ids)


# --- Renditions -----------------------------------------------------------------


def rendition_key_for(*, photo: Photo, size: int, fmt: str) -> str:
    """Derived from the original's hash: the same input always lands on the same key.

    Private photos' renditions live under the private prefix (signed URLs only);
    the rest under the public one, where the CDN may cache them forever.
    """
    prefix = PUBLIC_PREFIX if renditions_are_public(photo) else PRIVATE_PREFIX
    return f"{prefix}renditions/{photo.key}/{photo.original_sha256[:16]}-v{PIPELINE_VERSION}-{size}.{fmt}"


def rendition_make_all(*, photo_id: int) -> None:
    """Make, store and record every rendition of a photo, then mark it ready.

    Safe to run twice or concurrently: keys are deterministic, rows are upserted
    under the photo's row lock, and a photo deleted meanwhile gets its files removed.
    """
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        return  # deleted before we ran; its cleanup job removes the original
    expected = renditions_expected(width=photo.original_width, height=photo.original_height)
    if photo.status == PhotoStatus.READY and expected <= set(
        photo.renditions.filter(file__contains=f"-v{PIPELINE_VERSION}-").values_list("size", "format")
    ):
        return
    try:
        with photo.original.open("rb") as source:
            rendered, placeholder = render_renditions(source)
    except RenditionFailed as error:
        photo_mark_failed(photo_id=photo_id, reason=str(error))
        return
    keys = [rendition_key_for(photo=photo, size=item.size, fmt=item.format) for item in rendered]
    # Before storing: a key an earlier rebuild superseded (a pipeline version rolled back) is
    # no longer due. A sweep removing it right now holds its row, so this waits for that and
    # the file is stored again after; once this returns, no sweep takes it.
    _superseded_files_forget(names=keys)
    names = objects_save([(key, item.data) for key, item in zip(keys, rendered, strict=True)])

    with transaction.atomic():
        locked = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if locked is None:
            stored_files_delete_later(names=names)
            return
        if renditions_are_public(locked) != renditions_are_public(photo):
            # The owner changed the visibility (or a moderator hid it) while we rendered:
            # store where it now belongs, and purge what was briefly public.
            wrong_place = names
            names = [rendition_key_for(photo=locked, size=item.size, fmt=item.format) for item in rendered]
            _superseded_files_forget(names=names)
            for wrong_name, right_name in zip(wrong_place, names, strict=True):
                object_copy(wrong_name, right_name)
            stored_files_delete_later(names=wrong_place)
        previous = set(locked.renditions.values_list("file", flat=True))
        # One transaction swaps every row to its new file: pages show the old set or the new.
        for item, name in zip(rendered, names, strict=True):
            Rendition.objects.update_or_create(
                photo=locked,
                size=item.size,
                format=item.format,
                defaults={"file": name, "width": item.width, "height": item.height, "bytes": len(item.data)},
            )
        locked.renditions.exclude(file__in=names).delete()  # sizes or formats the pipeline no longer makes
        superseded = sorted(previous - set(names))
        if superseded:
            # An older pipeline's files: pages made before this commits, still open or kept by
            # a cache, link them for a while yet. Removed after PHOTOS_SUPERSEDED_GRACE_SECONDS.
            superseded_files_keep(photo_id=photo_id, names=superseded)
        counts_before = _listing_counts_of(locked)
        if locked.status != PhotoStatus.READY:
            _unfinished_count_add(locked.owner_id, -1)
        locked.status = PhotoStatus.READY
        locked.failure_reason = ""
        locked.placeholder_color = placeholder
        locked.save(update_fields=["status", "failure_reason", "placeholder_color", "updated_at"])
        _listing_counts_move(counts_before, _listing_counts_of(locked))
        # Ready now, or ready with new rendition URLs: the listings it is in change either way.
        photo_changed_on_commit(photo_id=photo_id, scopes=listing_scopes_of(locked))
    logger.info(
        "renditions made for photo %s: %d files",
        photo_id,
        len(names),
        extra={"labels.photo_id": photo_id, "event.action": "renditions-made"},
    )

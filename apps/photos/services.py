"""Writes for photos: upload checks, create/edit/delete, and making renditions.

HTML views, API views, admin actions and actors all call these functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import re
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import IO

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.template.defaultfilters import filesizeformat
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

from apps.accounts.models import User
from apps.photos.models import Photo, PhotoStatus, Rendition, Tag, Visibility
from apps.photos.selectors import SEARCH_CONFIG, photo_cache_invalidate
from photosite.storage import PRIVATE_PREFIX, PUBLIC_PREFIX, object_copy, object_delete, object_save

logger = logging.getLogger(__name__)

# Pillow's names. HEIF (iPhone photos) comes from pillow-heif; GIFs give their first frame.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "AVIF", "GIF")
ALLOWED_FORMATS_TEXT = "a JPEG, PNG, WebP, HEIC, AVIF or GIF image"
EXTENSION_FOR_FORMAT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic", "AVIF": "avif", "GIF": "gif"}
RENDITION_SIZES = (320, 640, 1280, 2048)  # long edge, in pixels


@dataclass(frozen=True)
class OutputFormat:
    name: str  # Rendition.format and the key's extension
    pillow_name: str
    mime_type: str
    min_size: int  # made for sizes from this label up
    options: dict[str, object]


# Browsers take the first <source> they support: AVIF, then WebP, then JPEG, which
# every browser reads. AVIF pays off on large images; small ones are already tiny.
OUTPUT_FORMATS = (
    OutputFormat("avif", "AVIF", "image/avif", 1280, {"quality": 60, "speed": 8}),
    OutputFormat("webp", "WEBP", "image/webp", 0, {"quality": 80, "method": 2}),
    OutputFormat("jpg", "JPEG", "image/jpeg", 0, {"quality": 85, "optimize": True, "progressive": True}),
)
# Part of every rendition key: bump it when the pipeline's output changes, so new
# renditions get new keys and cached copies of the old ones never shadow them.
PIPELINE_VERSION = 2


class UploadRejected(Exception):
    """The upload is not acceptable; the message is shown to the person who sent it."""


class StorageUnavailable(Exception):
    """Object storage did not answer; nothing was recorded. Shown as a 503: try again later."""

    message = "Photo storage is unavailable right now. Nothing was saved; please try again in a few minutes."


class RenditionFailed(Exception):
    """The stored original cannot be rendered; the message is shown to the photo's owner."""


@dataclass(frozen=True)
class CheckedImage:
    format: str
    width: int
    height: int
    sha256: str
    bytes: int
    camera_facts: dict[str, str]

    @property
    def extension(self) -> str:
        return EXTENSION_FOR_FORMAT[self.format]


def check_image_upload(*, upload: IO[bytes], size: int) -> CheckedImage:
    """Check an upload by its content before anything is stored.

    Bounded cost: the byte size and pixel count are checked before any pixel is
    decoded, and JPEGs are decoded at 1/8 scale (which still reads every byte, so a
    truncated file is caught).
    """
    if size == 0:
        raise UploadRejected("The file is empty.")
    if size > settings.PHOTO_MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"The file is too big ({filesizeformat(size)}); the limit is "
            f"{filesizeformat(settings.PHOTO_MAX_UPLOAD_BYTES)}."
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload, formats=ALLOWED_FORMATS) as image:
                width, height = image.size
                _check_pixels(width, height)
                if image.format == "JPEG":
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
                image_format = str(image.format)
                camera_facts = camera_facts_from(image.getexif())
    except UnidentifiedImageError:
        raise UploadRejected(f"This file is not {ALLOWED_FORMATS_TEXT}.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRejected(_too_many_pixels_message()) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UploadRejected(f"The image is damaged or incomplete ({error}).") from None
    finally:
        upload.seek(0)
    return CheckedImage(
        format=image_format,
        width=width,
        height=height,
        sha256=digest.hexdigest(),
        bytes=size,
        camera_facts=camera_facts,
    )


def camera_facts_from(exif: Image.Exif) -> dict[str, str]:
    """The few camera facts a photo page shows, as display text; nothing else is kept.

    GPS, serial numbers, names and everything else in the EXIF are never read.
    """
    facts: dict[str, str] = {}
    details = exif.get_ifd(ExifTags.IFD.Exif)

    def text(value: object) -> str:
        return str(value).strip("\x00 ").strip()[:100] if value is not None else ""

    for key, tag in (("make", ExifTags.Base.Make), ("model", ExifTags.Base.Model)):
        if text(exif.get(tag)):
            facts[key] = text(exif.get(tag))
    if text(details.get(ExifTags.Base.LensModel)):
        facts["lens"] = text(details.get(ExifTags.Base.LensModel))
    try:
        exposure = details.get(ExifTags.Base.ExposureTime)
        if exposure:
            seconds = float(exposure)
            facts["exposure"] = f"1/{round(1 / seconds)} s" if 0 < seconds < 1 else f"{seconds:g} s"
        aperture = details.get(ExifTags.Base.FNumber)
        if aperture:
            facts["aperture"] = f"f/{float(aperture):.1f}".replace(".0", "")
        focal = details.get(ExifTags.Base.FocalLength)
        if focal:
            facts["focal_length"] = f"{float(focal):g} mm"
        iso = details.get(ExifTags.Base.ISOSpeedRatings)
        if iso:
            facts["iso"] = str(int(iso[0] if isinstance(iso, tuple) else iso))
    except (TypeError, ValueError, ZeroDivisionError):
        pass  # a malformed value is skipped, never a reason to refuse the photo
    taken = text(details.get(ExifTags.Base.DateTimeOriginal))
    if len(taken) >= 19 and taken[4] == ":":
        facts["taken_at"] = f"{taken[:4]}-{taken[5:7]}-{taken[8:10]} {taken[11:16]}"
    return facts


def _too_many_pixels_message() -> str:
    megapixels = settings.PHOTO_MAX_PIXELS / 1_000_000
    return f"The image has too many pixels; the limit is {megapixels:g} megapixels."


def _check_pixels(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise UploadRejected("The image has no pixels.")
    if width * height > settings.PHOTO_MAX_PIXELS:
        raise UploadRejected(_too_many_pixels_message())


def _title_from_filename(name: str) -> str:
    stem = PurePath(name or "").stem.replace("_", " ").replace("-", " ").strip()
    return (stem or "Untitled")[:200]


@transaction.atomic
def photo_create(
    *,
    owner: User,
    upload: UploadedFile,
    title: str = "",
    caption: str = "",
    alt_text: str = "",
    visibility: str = Visibility.PUBLIC,
    tags: list[str] | None = None,
) -> Photo:
    """Check, store and record an upload, then queue its renditions once committed.

    Either the object and the row both exist afterwards, or neither does.
    """
    checked = check_image_upload(upload=upload, size=upload.size or 0)
    photo = _photo_for(
        owner, checked, title.strip() or _title_from_filename(upload.name or ""), caption, alt_text, visibility
    )
    with _storage_errors_as_unavailable():
        stored_name = default_storage.save(original_key_for(photo=photo, checked=checked), upload)
    return _photo_record(photo, stored_name, tags or [])


@contextlib.contextmanager
def _storage_errors_as_unavailable() -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError, OSError) as error:
        logger.error("object storage failed: %s", error)
        raise StorageUnavailable(StorageUnavailable.message) from error


INCOMING_PREFIX = f"{PRIVATE_PREFIX}incoming/"


def incoming_key_new() -> str:
    """Where a browser may upload one original directly (presigned POST); unguessable."""
    return f"{INCOMING_PREFIX}{uuid.uuid4()}"


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
) -> Photo:
    """Check an original the browser uploaded straight to storage, then record it like any upload.

    A refused object is deleted at once; an accepted one moves to the originals prefix.
    """
    if not incoming_key.startswith(INCOMING_PREFIX):
        raise UploadRejected("The upload did not arrive. Please try again.")
    with _storage_errors_as_unavailable():
        if not default_storage.exists(incoming_key):
            raise UploadRejected("The upload did not arrive. Please try again.")
        try:
            size = default_storage.size(incoming_key)
            if size > settings.PHOTO_MAX_UPLOAD_BYTES:
                check_image_upload(upload=io.BytesIO(), size=size)  # raises the size message
            with default_storage.open(incoming_key, "rb") as upload:
                checked = check_image_upload(upload=upload, size=size)
        except UploadRejected:
            object_delete(incoming_key)
            raise
    photo = _photo_for(owner, checked, title.strip() or _title_from_filename(filename), caption, alt_text, visibility)
    stored_name = original_key_for(photo=photo, checked=checked)
    with _storage_errors_as_unavailable():
        object_copy(incoming_key, stored_name)
    photo = _photo_record(photo, stored_name, tags or [])
    transaction.on_commit(lambda: object_delete(incoming_key))
    return photo


def original_key_for(*, photo: Photo, checked: CheckedImage) -> str:
    return f"{PRIVATE_PREFIX}originals/{photo.key}.{checked.extension}"


def _photo_for(owner: User, checked: CheckedImage, title: str, caption: str, alt_text: str, visibility: str) -> Photo:
    return Photo(
        owner=owner,
        title=title.strip()[:200] or "Untitled",
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


def _photo_record(photo: Photo, stored_name: str, tags: list[str]) -> Photo:
    """Save the row for a stored original; remove the object if the row cannot be saved."""
    try:
        with transaction.atomic():
            photo.original.name = stored_name
            photo.save()
            _tags_set(photo, tags)
            photo_search_index_update(photo_ids=[photo.pk])
    except BaseException:
        object_delete(stored_name)
        raise
    _invalidate_on_commit(photo.pk)
    transaction.on_commit(lambda: _enqueue_renditions(photo.pk))
    return photo


def _invalidate_on_commit(photo_id: int) -> None:
    # After commit: invalidating earlier would let a concurrent read cache the old rows again.
    transaction.on_commit(lambda: photo_cache_invalidate(photo_id=photo_id))


def _enqueue_renditions(photo_id: int) -> None:
    from apps.photos.tasks import make_renditions

    make_renditions.send(photo_id)


def photo_update(
    *,
    photo: Photo,
    title: str,
    caption: str,
    alt_text: str,
    visibility: str,
    show_camera_facts: bool = True,
    tags: list[str] | None = None,
) -> Photo:
    """Change what people see about a photo; crossing into or out of private moves its files."""
    with transaction.atomic():
        # The lock orders this after a rendition job that is recording files for the old visibility.
        locked = Photo.objects.select_for_update().get(pk=photo.pk)
        was_private = locked.is_private
        photo.title = title.strip() or locked.title
        photo.caption = caption
        photo.alt_text = alt_text
        photo.visibility = visibility
        photo.show_camera_facts = show_camera_facts
        photo.save(update_fields=["title", "caption", "alt_text", "visibility", "show_camera_facts", "updated_at"])
        if photo.is_private != was_private:
            _renditions_move_to_match_visibility(photo)
        if tags is not None:
            _tags_set(photo, tags)
        photo_search_index_update(photo_ids=[photo.pk])
        _invalidate_on_commit(photo.pk)
    return photo


MAX_TAGS = 20
TAG_MAX_LENGTH = 40
_TAG_SEPARATORS = re.compile(r"[\s,]+")
_TAG_WORD = re.compile(r"^[\w-]+$")


class TagsRejected(ValueError):
    """Shown beside the tags field."""


def tags_parse(text: str) -> list[str]:
    """ "Sunset, #Beach  sea" -> ["sunset", "beach", "sea"]: lowercase, no duplicates, in order."""
    tags: list[str] = []
    for word in _TAG_SEPARATORS.split(text):
        tag = word.lstrip("#").lower()
        if not tag or tag in tags:
            continue
        if not _TAG_WORD.match(tag):
            raise TagsRejected(f"“{word}” is not a tag: use letters, digits, “-” and “_”.")
        if len(tag) > TAG_MAX_LENGTH:
            raise TagsRejected(f"“{word[:20]}…” is too long for a tag (at most {TAG_MAX_LENGTH} characters).")
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise TagsRejected(f"At most {MAX_TAGS} tags per photo.")
    return tags


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


def _renditions_move_to_match_visibility(photo: Photo) -> None:
    """Copy each rendition to the key its photo's visibility calls for; old objects go after commit.

    Call while holding the photo's row lock. Copy first, delete later: a failure
    midway leaves every recorded file in place.
    """
    old_names = []
    for rendition in photo.renditions.all():
        new_name = rendition_key_for(photo=photo, size=rendition.size, fmt=_extension(rendition.file.name))
        if new_name == rendition.file.name:
            continue
        object_copy(rendition.file.name, new_name)
        old_names.append(rendition.file.name)
        rendition.file.name = new_name
        rendition.save(update_fields=["file"])
    if old_names:
        transaction.on_commit(lambda: _enqueue_storage_cleanup(old_names))


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def photo_hide(*, photo: Photo, moderator: User, reason: str) -> None:
    """A moderator takes a photo out of every page and listing; its owner still sees it, with the reason."""
    from django.utils import timezone

    photo.hidden_at = timezone.now()
    photo.hidden_by = moderator
    photo.hidden_reason = reason[:200]
    photo.save(update_fields=["hidden_at", "hidden_by", "hidden_reason", "updated_at"])
    _invalidate_on_commit(photo.pk)


def photo_unhide(*, photo: Photo) -> None:
    photo.hidden_at = None
    photo.hidden_by = None
    photo.hidden_reason = ""
    photo.save(update_fields=["hidden_at", "hidden_by", "hidden_reason", "updated_at"])
    _invalidate_on_commit(photo.pk)


def photo_delete(*, photo_id: int) -> None:
    """Delete the row now (it vanishes from every page at once); a job removes the objects."""
    with transaction.atomic():
        # The row lock orders us after a rendition job that is recording its files,
        # so the names collected below include every object that job stored.
        photo = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if photo is None:
            return
        names = [photo.original.name, *photo.renditions.values_list("file", flat=True)]
        photo.delete()
        _invalidate_on_commit(photo_id)
        transaction.on_commit(lambda: _enqueue_storage_cleanup(names))


def _enqueue_storage_cleanup(names: list[str]) -> None:
    from apps.photos.tasks import delete_stored_files

    delete_stored_files.send(names)


def stored_files_delete(*, names: list[str]) -> None:
    """Remove objects; deleting one that is already gone is not an error (safe to rerun)."""
    for name in names:
        if name:
            object_delete(name)


def photo_mark_failed(*, photo_id: int, reason: str) -> None:
    logger.warning("photo %s failed: %s", photo_id, reason, extra={"labels.photo_id": photo_id})
    Photo.objects.filter(pk=photo_id).exclude(status=PhotoStatus.READY).update(
        status=PhotoStatus.FAILED, failure_reason=reason[:500]
    )
    _invalidate_on_commit(photo_id)


def photo_retry_renditions(*, photo: Photo) -> None:
    photo.status = PhotoStatus.PROCESSING
    photo.failure_reason = ""
    photo.save(update_fields=["status", "failure_reason", "updated_at"])
    _invalidate_on_commit(photo.pk)
    transaction.on_commit(lambda: _enqueue_renditions(photo.pk))


def photos_retry_failed(*, hours: int = 24) -> int:
    """Queue every photo that failed in the last `hours` to render again (the operators' button)."""
    from datetime import timedelta

    from django.utils import timezone

    photo_ids = list(
        Photo.objects.filter(
            status=PhotoStatus.FAILED, updated_at__gte=timezone.now() - timedelta(hours=hours)
        ).values_list("pk", flat=True)
    )
    Photo.objects.filter(pk__in=photo_ids).update(status=PhotoStatus.PROCESSING, failure_reason="")
    for photo_id in photo_ids:
        _invalidate_on_commit(photo_id)
        transaction.on_commit(lambda photo_id=photo_id: _enqueue_renditions(photo_id))
    return len(photo_ids)


def photo_requeue_unfinished(*, before: datetime | None = None) -> int:
    """Queue renditions again for photos still processing (after an embedded-mode restart)."""
    photos = Photo.objects.filter(status=PhotoStatus.PROCESSING)
    if before is not None:
        photos = photos.filter(updated_at__lt=before)
    photo_ids = list(photos.values_list("pk", flat=True))
    for photo_id in photo_ids:
        _enqueue_renditions(photo_id)
    return len(photo_ids)


# --- Renditions -----------------------------------------------------------------


@dataclass(frozen=True)
class RenderedImage:
    size: int
    format: str
    width: int
    height: int
    data: bytes


def rendition_key_for(*, photo: Photo, size: int, fmt: str) -> str:
    """Derived from the original's hash: the same input always lands on the same key.

    Private photos' renditions live under the private prefix (signed URLs only);
    the rest under the public one, where the CDN may cache them forever.
    """
    prefix = PRIVATE_PREFIX if photo.is_private else PUBLIC_PREFIX
    return f"{prefix}renditions/{photo.key}/{photo.original_sha256[:16]}-v{PIPELINE_VERSION}-{size}.{fmt}"


def rendition_target_sizes(*, width: int, height: int) -> list[tuple[int, int, int]]:
    """(size label, width, height) for each rendition; never upscaled, no duplicates."""
    long_edge = max(width, height)
    targets: list[tuple[int, int, int]] = []
    for size in RENDITION_SIZES:
        edge = min(size, long_edge)
        if targets and max(targets[-1][1], targets[-1][2]) == edge:
            break  # the original is smaller than this size: the last one is already full size
        scale = edge / long_edge
        targets.append((size, max(1, round(width * scale)), max(1, round(height * scale))))
    return targets


def _to_srgb(image: Image.Image) -> Image.Image:
    """Flatten to RGB and convert an embedded colour profile to sRGB."""
    icc = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB") or image
        except (ImageCms.PyCMSError, OSError, ValueError):
            logger.info("ignoring an unreadable colour profile")
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.info.clear()  # nothing from the original's metadata may reach a rendition
    return image


def render_renditions(
    source: IO[bytes], *, formats: tuple[OutputFormat, ...] = OUTPUT_FORMATS
) -> tuple[list[RenderedImage], str]:
    """Make every rendition of an original, and its placeholder colour.

    Speed: JPEGs are decoded at the smallest 1/2, 1/4 or 1/8 scale that still covers
    the largest size, and each size is made from the next larger one.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=ALLOWED_FORMATS) as original:
                _check_pixels(*original.size)
                raw_w, raw_h = original.size
                largest = min(max(RENDITION_SIZES), max(raw_w, raw_h))
                scale = largest / max(raw_w, raw_h)
                if original.format == "JPEG":
                    original.draft("RGB", (max(1, int(raw_w * scale)), max(1, int(raw_h * scale))))
                # Sizes come from the full-resolution, oriented dimensions, not the draft's.
                orientation = original.getexif().get(ExifTags.Base.Orientation, 1)
                full_w, full_h = (raw_h, raw_w) if orientation in (5, 6, 7, 8) else (raw_w, raw_h)
                oriented = ImageOps.exif_transpose(original)
                image = _to_srgb(oriented)
    except UploadRejected as error:
        raise RenditionFailed(str(error)) from None
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise RenditionFailed("The stored file is not an image we can read.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise RenditionFailed(f"The image could not be decoded ({error}).") from None

    placeholder = "#{:02x}{:02x}{:02x}".format(*image.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0)))
    rendered: list[RenderedImage] = []
    current = image
    for size, width, height in reversed(rendition_target_sizes(width=full_w, height=full_h)):
        if current.size != (width, height):
            current = current.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        for output in formats:
            if size >= output.min_size:
                buffer = io.BytesIO()
                current.save(buffer, output.pillow_name, **output.options)
                rendered.append(RenderedImage(size, output.name, width, height, buffer.getvalue()))
    rendered.sort(key=lambda item: (item.size, item.format))
    return rendered, placeholder


def renditions_expected(*, width: int, height: int) -> set[tuple[int, str]]:
    """The (size, format) pairs a complete set of renditions has for an original of this size."""
    return {
        (size, output.name)
        for size, _, _ in rendition_target_sizes(width=width, height=height)
        for output in OUTPUT_FORMATS
        if size >= output.min_size
    }


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
    names = [
        object_save(rendition_key_for(photo=photo, size=item.size, fmt=item.format), item.data) for item in rendered
    ]

    with transaction.atomic():
        locked = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if locked is None:
            transaction.on_commit(lambda: _enqueue_storage_cleanup(names))
            return
        if locked.is_private != photo.is_private:
            # The owner changed the visibility while we rendered: store where it now belongs.
            wrong_place = names
            names = [rendition_key_for(photo=locked, size=item.size, fmt=item.format) for item in rendered]
            for source, destination in zip(wrong_place, names, strict=True):
                object_copy(source, destination)
            transaction.on_commit(lambda: _enqueue_storage_cleanup(wrong_place))
        for item, name in zip(rendered, names, strict=True):
            Rendition.objects.update_or_create(
                photo=locked,
                size=item.size,
                format=item.format,
                defaults={"file": name, "width": item.width, "height": item.height, "bytes": len(item.data)},
            )
        stale = locked.renditions.exclude(file__in=names)
        stale_names = list(stale.values_list("file", flat=True))
        stale.delete()
        if stale_names:
            transaction.on_commit(lambda: _enqueue_storage_cleanup(stale_names))
        locked.status = PhotoStatus.READY
        locked.failure_reason = ""
        locked.placeholder_color = placeholder
        locked.save(update_fields=["status", "failure_reason", "placeholder_color", "updated_at"])
        _invalidate_on_commit(photo_id)
    logger.info(
        "renditions made for photo %s: %d files",
        photo_id,
        len(names),
        extra={"labels.photo_id": photo_id, "event.action": "renditions-made"},
    )

"""The data-export zip: a person's originals, their photos' details, albums, comments,
notifications, share links and profile, written as a stream into private storage.

Memory stays bounded whatever the number of photos: rows are read in chunks, every
original is copied in 1 MiB pieces, the JSON files are written a record at a time, and
the zip goes to storage part by part (photosite.storage.object_writer). Only the zip's
central directory (about 100 bytes a file) grows with the photo count.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from django.conf import settings
from django.urls import reverse
from django.utils.text import slugify

from apps.accounts.models import User
from apps.albums.models import Album, AlbumEntry
from apps.notifications.models import Notification
from apps.photos.models import Photo, stored_name
from apps.sharing.models import ShareLink
from apps.social.models import Comment
from photosite.storage import object_reader, object_writer

CHUNK_ROWS = 500
COPY_BYTES = 1024 * 1024

README = """Your photosite data, as it was when this file was made.

photos/             your original files, exactly as you uploaded them
photos.json         each photo's title, caption, alt text, tags, visibility, licence, camera facts and dates;
                    "file" names its original in photos/
albums.json         your albums and the photos in them, in your order
comments.json       the comments you wrote, with the photo each is on
notifications.json  what you were told (likes, comments, mentions, follows), grouped as on the site
share_links.json    the links you made to your photos and albums, with their address, expiry and views
profile.json        your user name, display name, email and bio
"""


@dataclass(frozen=True)
class ArchiveSummary:
    photos: int
    bytes: int


def archive_write(*, user: User, key: str, download_name: str) -> ArchiveSummary:
    """Write the whole export of `user` to the private object `key`."""
    photos = 0
    with object_writer(key, content_type="application/zip", download_name=download_name) as stream:
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            archive.writestr("README.txt", README)
            _json_write(archive, "profile.json", _profile(user))
            for photo in _photos(user):
                with (
                    archive.open(_original_entry(photo), "w", force_zip64=True) as entry,
                    object_reader(stored_name(photo.original)) as original,
                ):
                    shutil.copyfileobj(original, entry, COPY_BYTES)
                photos += 1
            _json_list_write(archive, "photos.json", (_photo_record(photo) for photo in _photos(user, with_tags=True)))
            _json_list_write(archive, "albums.json", _albums(user))
            _json_list_write(archive, "comments.json", _comments(user))
            _json_list_write(archive, "notifications.json", _notifications(user))
            _json_list_write(archive, "share_links.json", _share_links(user))
        size = stream.tell()
    return ArchiveSummary(photos=photos, bytes=size)


def _photos(user: User, *, with_tags: bool = False) -> Iterator[Photo]:
    photos = Photo.objects.filter(owner=user).order_by("created_at", "pk")
    if with_tags:
        photos = photos.prefetch_related("tags")
    return photos.iterator(chunk_size=CHUNK_ROWS)


def _original_entry(photo: Photo) -> zipfile.ZipInfo:
    """Originals are compressed already (JPEG, HEIC, WebP...): stored as they are, not deflated again."""
    info = zipfile.ZipInfo(_zip_name(photo), date_time=photo.created_at.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    return info


def _zip_name(photo: Photo) -> str:
    extension = stored_name(photo.original).rsplit(".", 1)[-1]
    return f"photos/{photo.pk}-{slugify(photo.title)[:60] or 'photo'}.{extension}"


def _photo_record(photo: Photo) -> dict[str, Any]:
    return {
        "id": photo.pk,
        "file": _zip_name(photo),
        "title": photo.title,
        "caption": photo.caption,
        "alt_text": photo.alt_text,
        "visibility": photo.visibility,
        "licence": photo.licence,
        "tags": [tag.name for tag in photo.tags.all()],
        "camera_facts": photo.camera_facts,
        "width": photo.original_width,
        "height": photo.original_height,
        "bytes": photo.original_bytes,
        "sha256": photo.original_sha256,
        "likes": photo.like_count,
        "comments": photo.comment_count,
        "created_at": photo.created_at.isoformat(),
        "updated_at": photo.updated_at.isoformat(),
    }


def _profile(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "bio": user.bio,
        "date_joined": user.date_joined.isoformat(),
        "followers": user.follower_count,
        "following": user.following_count,
    }


def _albums(user: User) -> Iterator[dict[str, Any]]:
    for album in Album.objects.filter(owner=user).order_by("created_at", "pk").iterator(chunk_size=CHUNK_ROWS):
        entries = AlbumEntry.objects.filter(album=album).order_by("position", "pk").values_list("photo_id", flat=True)
        yield {
            "id": album.pk,
            "title": album.title,
            "description": album.description,
            "visibility": album.visibility,
            "cover_photo_id": album.cover_id,
            "photo_ids": list(entries.iterator(chunk_size=CHUNK_ROWS)),
            "created_at": album.created_at.isoformat(),
        }


def _comments(user: User) -> Iterator[dict[str, Any]]:
    comments = Comment.objects.filter(author=user).select_related("photo").order_by("created_at", "pk")
    for comment in comments.iterator(chunk_size=CHUNK_ROWS):
        yield {
            "id": comment.pk,
            "photo_id": comment.photo_id,
            "photo_title": comment.photo.title,
            "body": comment.body,
            "hidden_by_moderator": comment.hidden_at is not None,
            "created_at": comment.created_at.isoformat(),
        }


def _notifications(user: User) -> Iterator[dict[str, Any]]:
    notifications = Notification.objects.filter(recipient=user).order_by("created_at", "pk")
    for notification in notifications.iterator(chunk_size=CHUNK_ROWS):
        yield {
            "kind": notification.kind,
            "photo_id": notification.photo_id,
            "count": notification.actor_count,
            "created_at": notification.created_at.isoformat(),
            "updated_at": notification.updated_at.isoformat(),
            "read": notification.read_at is not None,
            "read_at": _iso(notification.read_at),
        }


def _share_links(user: User) -> Iterator[dict[str, Any]]:
    """The link's address is the owner's own (its token is in it); its password's hash stays
    out: it is no use to them, and would be something to guess at offline."""
    links = ShareLink.objects.filter(owner=user).order_by("created_at", "pk")
    for link in links.iterator(chunk_size=CHUNK_ROWS):
        yield {
            "url": settings.SITE_URL + reverse("share_open", args=[link.token]),
            "photo_id": link.photo_id,
            "album_id": link.album_id,
            "created_at": link.created_at.isoformat(),
            "expires_at": _iso(link.expires_at),
            "revoked_at": _iso(link.revoked_at),
            "has_password": link.has_password,
            "views": link.view_count,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _json_write(archive: zipfile.ZipFile, name: str, value: object) -> None:
    archive.writestr(name, json.dumps(value, indent=2, ensure_ascii=False))


def _json_list_write(archive: zipfile.ZipFile, name: str, items: Iterable[object]) -> None:
    """A JSON array written an item at a time, so a long list never sits in memory whole."""
    with archive.open(name, "w", force_zip64=True) as entry:
        _write_text(entry, "[")
        for index, item in enumerate(items):
            _write_text(entry, ("\n  " if index == 0 else ",\n  ") + json.dumps(item, ensure_ascii=False))
        _write_text(entry, "\n]\n")


def _write_text(entry: IO[bytes], text: str) -> None:
    entry.write(text.encode())

"""The upload rules in one place: size limits and their message, and the signed grant
that lets a browser put one original straight into storage (a presigned POST) and
then claim it, once: the photo row records the incoming key, unique, so a grant
makes one photo however often its file is sent again and its token replayed.

HTML views and API views both call these; neither signs or checks tokens itself.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext, gettext_lazy

from apps.photos.models import Photo
from photosite.storage import (
    PRIVATE_PREFIX,
    StorageUnavailable,
    object_delete,
    presigned_upload,
    storage_errors_as_unavailable,
)

# Room for the form fields and multipart framing on top of the file itself.
UPLOAD_OVERHEAD_BYTES = 1024 * 1024
INCOMING_PREFIX = f"{PRIVATE_PREFIX}incoming/"
DIRECT_UPLOAD_SALT = "photosite.direct-upload"
DIRECT_UPLOAD_MAX_AGE = 3600  # seconds a grant may be claimed after it was issued
# What the presigned POST's policy pins: the incoming object is never served, and the
# original's real type is set from its decoded format when it is copied into place.
INCOMING_CONTENT_TYPE = "application/octet-stream"


class UploadRejected(Exception):
    """The upload is not acceptable; the message is shown to the person who sent it."""


class UploadTooBig(UploadRejected):
    """Over the byte limit: answered with 413."""


class DuplicateUpload(UploadRejected):
    """The person already has a photo of exactly these bytes: answered with 409, naming it."""

    def __init__(self, *, photo_id: int, title: str) -> None:
        super().__init__(gettext("You have already uploaded this file, as “%(title)s”.") % {"title": title})
        self.photo_id = photo_id


class GrantInvalid(Exception):
    """A direct-upload grant that is forged, expired or someone else's: answered with 403."""

    message = gettext_lazy("This upload has expired or is not yours. Please upload the file again.")


class GrantUsed(GrantInvalid):
    """A grant whose photo exists already: each grant makes one photo. Also answered with 403."""

    message = gettext_lazy("This upload has already been completed. Please upload the file again.")


def upload_too_big_message(size: int | None = None) -> str:
    """The one wording of the byte limit, with the file's size when it is known."""
    limit = filesizeformat(settings.PHOTO_MAX_UPLOAD_BYTES)
    if size is None:
        return gettext("The file is too big; the limit is %(limit)s.") % {"limit": limit}
    return gettext("The file is too big (%(size)s); the limit is %(limit)s.") % {
        "size": filesizeformat(size),
        "limit": limit,
    }


def upload_size_check(*, size: int) -> None:
    """Refuse an empty or oversized file by its byte count, before anything is read."""
    if size <= 0:
        raise UploadRejected(gettext("The file is empty."))
    if size > settings.PHOTO_MAX_UPLOAD_BYTES:
        raise UploadTooBig(upload_too_big_message(size))


def upload_body_too_big(*, content_length: int) -> bool:
    """Whether a request body is over the limit before Django reads (and spools) it."""
    return content_length > settings.PHOTO_MAX_UPLOAD_BYTES + UPLOAD_OVERHEAD_BYTES


def incoming_key_new() -> str:
    """Where a browser may upload one original directly (presigned POST); unguessable."""
    return f"{INCOMING_PREFIX}{uuid.uuid4()}"


@dataclass(frozen=True)
class DirectUploadGrant:
    url: str
    fields: dict[str, Any]
    token: str  # handed back to direct_upload_claim once the file is in storage

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "fields": self.fields, "token": self.token}


def direct_upload_grant(*, owner_id: int, size: int) -> DirectUploadGrant | None:
    """A presigned POST for one file of `size` bytes, or None when storage is not S3.

    Raises UploadRejected (UploadTooBig) for a size the upload would be refused for anyway.
    """
    upload_size_check(size=size)
    key = incoming_key_new()
    post = presigned_upload(key, max_bytes=settings.PHOTO_MAX_UPLOAD_BYTES, content_type=INCOMING_CONTENT_TYPE)
    if post is None:
        return None
    token = signing.dumps({"key": key, "user": owner_id}, salt=DIRECT_UPLOAD_SALT)
    return DirectUploadGrant(url=post["url"], fields=post["fields"], token=token)


def direct_upload_claim(*, owner_id: int, token: str) -> str:
    """The incoming key a grant names, if the grant is genuine, fresh, `owner_id`'s and unused.

    The check for "unused" here answers a replay early and removes the file sent again;
    the guarantee is the unique incoming key on the photo row, which refuses a second
    claim racing this one (photo_create_from_incoming raises GrantUsed then).
    """
    try:
        claim = signing.loads(token, salt=DIRECT_UPLOAD_SALT, max_age=DIRECT_UPLOAD_MAX_AGE)
    except signing.BadSignature:
        raise GrantInvalid(GrantInvalid.message) from None
    if not isinstance(claim, dict) or claim.get("user") != owner_id or not isinstance(claim.get("key"), str):
        raise GrantInvalid(GrantInvalid.message)
    key = str(claim["key"])
    if Photo.objects.filter(incoming_key=key).exists():
        # Sent again after its photo was made: nobody can claim it now. Should storage be
        # down, the refusal still stands, and storage_sweep removes the file later.
        with contextlib.suppress(StorageUnavailable), storage_errors_as_unavailable():
            object_delete(key)
        raise GrantUsed(GrantUsed.message)
    return key

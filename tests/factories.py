"""factory_boy factories: the one place tests make model rows."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from factory.declarations import LazyAttribute, LazyFunction, PostGenerationMethodCall, Sequence, SubFactory
from factory.django import DjangoModelFactory
from factory.faker import Faker
from factory.helpers import post_generation
from PIL import ExifTags, Image

from apps.accounts.models import User
from apps.photos.models import Photo, PhotoStatus, Visibility
from apps.photos.services import photo_create, rendition_make_all
from apps.photos.tags import tags_parse
from tests.images import jpeg_bytes

PASSWORD = "a-long-test-password"

ModelT = TypeVar("ModelT", bound=Model)


class RowFactory(DjangoModelFactory[ModelT]):
    """Calling a factory makes a row: `UserFactory()` is a User."""

    if TYPE_CHECKING:
        # factory_boy's metaclass does the calling and is not annotated, so mypy would take
        # `UserFactory()` for a factory instance; this says what it returns instead.
        def __new__(cls, **fields: Any) -> ModelT: ...  # type: ignore[misc]  # not a RowFactory: a row


class UserFactory(RowFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = Sequence(lambda n: f"user{n}")
    email = LazyAttribute(lambda user: f"{user.username}@example.com")
    display_name = Faker("name")
    password = PostGenerationMethodCall("set_password", PASSWORD)

    @post_generation
    def save_password(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


def email_confirmed(user: User) -> User:
    """The person confirmed their address (allauth's EmailAddress), as the email digest requires."""
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"primary": True, "verified": True})
    return user


def uploaded_photo(
    *,
    owner: User,
    data: bytes | None = None,
    name: str = "photo.jpg",
    visibility: str = Visibility.PUBLIC,
    title: str = "A photo",
) -> Photo:
    """A photo created through the real upload service (stored in the configured storage)."""
    upload = SimpleUploadedFile(name, data if data is not None else jpeg_bytes(), content_type="image/jpeg")
    return photo_create(owner=owner, upload=upload, title=title, visibility=visibility)


def ready_photo(owner: User, *, title: str = "A photo", visibility: str = Visibility.PUBLIC, tags: str = "") -> Photo:
    """A photo through the real upload service and the real rendition pipeline, ready to show."""
    upload = SimpleUploadedFile("photo.jpg", jpeg_bytes(width=96, height=64), content_type="image/jpeg")
    photo = photo_create(owner=owner, upload=upload, title=title, visibility=visibility, tags=tags_parse(tags))
    rendition_make_all(photo_id=photo.pk)
    photo.refresh_from_db()
    return photo


def camera_photo(
    owner: User, *, title: str, make: str, model: str, lens: str = "", taken: str = "", tags: str = "", **fields: Any
) -> Photo:
    """A ready photo whose EXIF names its camera, lens and when it was taken (`YYYY:MM:DD HH:MM:SS`)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = make
    exif[ExifTags.Base.Model] = model
    details = exif.get_ifd(ExifTags.IFD.Exif)
    if lens:
        details[ExifTags.Base.LensModel] = lens
    if taken:
        details[ExifTags.Base.DateTimeOriginal] = taken
    upload = SimpleUploadedFile("photo.jpg", jpeg_bytes(96, 64, exif=exif), content_type="image/jpeg")
    photo = photo_create(owner=owner, upload=upload, title=title, tags=tags_parse(tags), **fields)
    rendition_make_all(photo_id=photo.pk)
    photo.refresh_from_db()
    return photo


class PhotoRowFactory(RowFactory[Photo]):
    """A ready photo row without stored files, for listings that need many photos fast
    (pagination, query counts). Pages show its title; it has no renditions to show."""

    class Meta:
        model = Photo

    owner = SubFactory(UserFactory)
    title = Sequence(lambda n: f"Row photo {n}")
    visibility = Visibility.PUBLIC
    status = PhotoStatus.READY
    original = LazyFunction(lambda: f"private/originals/{uuid.uuid4()}.jpg")
    original_format = "JPEG"
    original_sha256 = "0" * 64
    original_bytes = 1000
    original_width = 640
    original_height = 480


def totp_code(secret: str, *, at: float | None = None) -> str:
    """The 6-digit TOTP code (RFC 6238: HMAC-SHA1, 30 s steps) an authenticator app shows for `secret`."""
    import base64
    import hmac
    import time

    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    if at is None and (left := 30 - time.time() % 30) < 3:
        # As a person would, wait for a fresh code: one read in a step's last moments may be
        # checked in the next step (the site allows no drift), which failed once on a busy machine.
        time.sleep(left)
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, counter.to_bytes(8, "big"), "sha1").digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def totp_enable(user: User) -> str:
    """Turn TOTP (and recovery codes) on for a person as the activation page would, without
    the page; returns the secret. A person who has it already keeps theirs."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from allauth.mfa.utils import decrypt

    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if existing is not None:
        return str(decrypt(existing.data["secret"]))
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def recovery_code_unused(user: User) -> str:
    from allauth.mfa.models import Authenticator

    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap()
    return str(codes.get_unused_codes()[0])

"""factory_boy factories: the one place tests make model rows."""

from __future__ import annotations

import uuid

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.accounts.models import User
from apps.photos.models import Photo, PhotoStatus, Visibility
from apps.photos.services import photo_create, rendition_make_all, tags_parse
from tests.images import jpeg_bytes

PASSWORD = "a-long-test-password"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    display_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


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


class PhotoRowFactory(factory.django.DjangoModelFactory):
    """A ready photo row without stored files, for listings that need many photos fast
    (pagination, query counts). Pages show its title; it has no renditions to show."""

    class Meta:
        model = Photo

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Row photo {n}")
    visibility = Visibility.PUBLIC
    status = PhotoStatus.READY
    original = factory.LazyFunction(lambda: f"private/originals/{uuid.uuid4()}.jpg")
    original_format = "JPEG"
    original_sha256 = "0" * 64
    original_bytes = 1000
    original_width = 640
    original_height = 480

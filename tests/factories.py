"""factory_boy factories: the one place tests make model rows."""

from __future__ import annotations

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.accounts.models import User
from apps.photos.models import Photo, Visibility
from apps.photos.services import photo_create
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

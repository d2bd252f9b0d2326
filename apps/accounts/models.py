"""People who use the site. A custom user model from the first migration, so it can grow."""

from django.contrib.auth.models import AbstractUser
from django.db import models

from photosite.storage import media_url


class User(AbstractUser):
    display_name = models.CharField(max_length=80, blank=True)
    bio = models.TextField(max_length=1000, blank=True)
    # A public storage key (a 256 px square WebP), or "" for the initials placeholder.
    avatar_key = models.CharField(max_length=300, blank=True)
    # Kept by follow_set with F(), so profiles never count follower rows.
    follower_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    @property
    def avatar_url(self) -> str:
        return media_url(self.avatar_key) if self.avatar_key else ""

    @property
    def initials(self) -> str:
        return "".join(part[0] for part in self.shown_name.split()[:2]).upper() or "?"

"""Writes for accounts."""

from __future__ import annotations

from apps.accounts.models import User


def user_create(*, username: str, password: str, email: str = "", display_name: str = "") -> User:
    return User.objects.create_user(username=username, password=password, email=email, display_name=display_name)

"""The person a page is for, for templates (settings.TEMPLATES)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.context_processors import PermWrapper
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from apps.accounts.authentication import request_user


def auth(request: HttpRequest) -> dict[str, Any]:
    """django.contrib.auth's `auth` context processor (`user`, `perms`), with the user itself
    instead of `request.user`'s lazy stand-in (`request_user`): the page shell reads it about
    ten times a page. Every page reads it anyway: the staff check before the view does. Listed
    after Django's (which the admin's system check asks for by name), so its values win."""
    user = request_user(request) if hasattr(request, "user") else AnonymousUser()
    return {"user": user, "perms": PermWrapper(user)}

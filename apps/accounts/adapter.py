"""photosite's hooks into django-allauth: user names of deleted accounts stay retired for
a while, and the display name typed at sign-up is saved with the new account."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import HttpRequest
from django.utils.translation import gettext

from apps.accounts import selectors
from apps.accounts.models import User


class AccountAdapter(DefaultAccountAdapter):
    def clean_username(self, username: str, shallow: bool = False) -> str:
        username = super().clean_username(username, shallow=shallow)
        if selectors.username_is_retired(username=username):
            # The same words as for a taken name: whether an account was deleted is nobody's business.
            raise ValidationError(gettext("A user with that username already exists."), code="username_taken")
        return username

    def save_user(self, request: HttpRequest, user: Any, form: BaseForm, commit: bool = True) -> Any:
        if isinstance(user, User):
            user.display_name = str(form.cleaned_data.get("display_name") or "").strip()
        return super().save_user(request, user, form, commit=commit)

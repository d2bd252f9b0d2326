"""Every admin action, in every app, says which Django permission it needs, so a staff
member who may only look at a list is offered (and can post) none of them."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.contrib.auth.models import Permission
from django.test import RequestFactory

from apps.accounts.models import User
from tests.factories import UserFactory


def registered_admins() -> list[ModelAdmin[Any]]:
    return [admin.site.get_model_admin(model) for model in apps.get_models() if admin.site.is_registered(model)]


def admin_request(user: User):  # -> HttpRequest
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.django_db
def test_every_admin_action_declares_its_permissions() -> None:
    request = admin_request(UserFactory(is_staff=True, is_superuser=True))
    undeclared = [
        f"{type(model_admin).__name__}.{name}"
        for model_admin in registered_admins()
        for name, action in model_admin.get_actions(request).items()
        if not getattr(action[0] if action else None, "allowed_permissions", None)
    ]
    assert undeclared == []


@pytest.mark.django_db
@pytest.mark.parametrize("model_admin", registered_admins(), ids=lambda model_admin: str(model_admin))
def test_staff_who_may_only_view_are_offered_no_action(model_admin: ModelAdmin[Any]) -> None:
    options = model_admin.model._meta
    staff = UserFactory(is_staff=True)
    view = Permission.objects.get(content_type__app_label=options.app_label, codename=f"view_{options.model_name}")
    staff.user_permissions.add(view)
    request = admin_request(User.objects.get(pk=staff.pk))  # fresh: no permission cache
    assert model_admin.has_view_permission(request)
    assert model_admin.get_actions(request) == {}

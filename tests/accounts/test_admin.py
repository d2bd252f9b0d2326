"""The user admin: staff act only as far as their Django permissions go, and no one but a
superuser can deactivate or change a superuser."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from tests.admin_forms import submit_change
from tests.conftest import staff_login
from tests.factories import UserFactory, ready_photo


def staff_with(*codenames: str) -> User:
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return staff


def deactivate(client, *users: User):
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate", "_selected_action": [user.pk for user in users]},
        follow=True,
    )


def test_staff_with_only_view_permission_cannot_deactivate_a_superuser(client, db) -> None:
    superuser = UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, staff_with("view_user"))
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200  # they may look
    deactivate(client, superuser)
    superuser.refresh_from_db()
    assert superuser.is_active


def test_staff_who_may_change_users_deactivate_people_but_never_a_superuser(client, db) -> None:
    superuser = UserFactory(is_staff=True, is_superuser=True)
    spammer = UserFactory()
    staff_login(client, staff_with("view_user", "change_user"))
    response = deactivate(client, superuser, spammer)
    superuser.refresh_from_db()
    spammer.refresh_from_db()
    assert superuser.is_active and not spammer.is_active
    assert "Deactivated 1 user(s)" in response.content.decode()


def test_a_superuser_can_deactivate_another_superuser_but_not_themselves(client, db) -> None:
    me, other = UserFactory(is_staff=True, is_superuser=True), UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, me)
    deactivate(client, me, other)
    me.refresh_from_db()
    other.refresh_from_db()
    assert me.is_active and not other.is_active


def test_staff_who_may_change_users_cannot_edit_a_superuser_or_grant_themselves_powers(client, db) -> None:
    superuser = UserFactory(is_staff=True, is_superuser=True)
    staff = staff_with("view_user", "change_user")
    staff_login(client, staff)
    change_superuser = reverse("admin:accounts_user_change", args=[superuser.pk])
    page = client.get(change_superuser).content.decode()
    assert 'name="is_active"' not in page  # shown, read-only
    password = reverse("admin:auth_user_password_change", args=[superuser.pk])
    assert client.get(password).status_code == 403
    own_page = client.get(reverse("admin:accounts_user_change", args=[staff.pk])).content.decode()
    assert 'name="is_superuser"' not in own_page and 'name="user_permissions"' not in own_page


def test_unticking_active_on_the_change_form_deactivates_through_the_service(
    client, db, bucket, django_capture_on_commit_callbacks
) -> None:
    """As the Deactivate action does: their photos leave every listing at once."""
    superuser = UserFactory(is_staff=True, is_superuser=True)
    person = UserFactory(username="leaving")
    ready_photo(person, title="Soon gone")
    assert "Soon gone" in Client().get(reverse("home")).content.decode()  # kept for visitors now
    staff_login(client, superuser)
    with django_capture_on_commit_callbacks(execute=True):
        answer = submit_change(client, reverse("admin:accounts_user_change", args=[person.pk]), drop=("is_active",))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    person.refresh_from_db()
    assert not person.is_active
    assert "Soon gone" not in Client().get(reverse("home")).content.decode()

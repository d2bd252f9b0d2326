"""Share links in the admin: staff see who shared what with the token masked and no password
hash, find links by their owner, and revoke them as far as their Django permissions go."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.albums.services import album_create
from apps.photos.models import Visibility
from apps.sharing.models import ShareLink
from apps.sharing.services import share_link_create
from tests.conftest import staff_login
from tests.factories import PhotoRowFactory, UserFactory

CHANGELIST = reverse("admin:sharing_sharelink_changelist")


def staff_with(client: Client, *codenames: str) -> User:
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="sharing", codename__in=codenames))
    staff_login(client, staff)
    return staff


def revoke(client: Client, *links: ShareLink):
    return client.post(CHANGELIST, {"action": "revoke", "_selected_action": [link.pk for link in links]}, follow=True)


def test_staff_see_owner_and_target_with_the_token_masked_and_no_password_hash_nor_title(client, db) -> None:
    owner = UserFactory(username="ann")
    photo = PhotoRowFactory(owner=owner, title="Lake", visibility=Visibility.PRIVATE)
    link = share_link_create(owner=owner, photo=photo, expires_in_days=7, password="s3cret-word")
    staff_with(client, "view_sharelink")

    for page in (client.get(CHANGELIST), client.get(reverse("admin:sharing_sharelink_change", args=[link.pk]))):
        assert page.status_code == 200
        body = page.content.decode()
        assert f"{link.token[:4]}…" in body and link.token not in body
        assert link.password not in body and "pbkdf2" not in body
        assert "ann" in body and f"photo {photo.pk}" in body
        assert "Lake" not in body  # a private photo's title: not for whoever may see links


def test_search_by_owner_user_name(client, db) -> None:
    ann, bob = UserFactory(username="ann-shares"), UserFactory(username="bob-shares")
    anns = share_link_create(owner=ann, album=album_create(owner=ann, title="Ann's", visibility=Visibility.PRIVATE))
    bobs = share_link_create(owner=bob, album=album_create(owner=bob, title="Bob's", visibility=Visibility.PRIVATE))
    staff_with(client, "view_sharelink")
    body = client.get(CHANGELIST, {"q": "ann-shares"}).content.decode()
    assert anns.token[:4] in body and f"album {anns.album_id}" in body
    assert f"album {bobs.album_id}" not in body


def test_staff_who_may_change_links_revoke_them_and_the_link_stops_opening(client, db) -> None:
    owner = UserFactory()
    photo = PhotoRowFactory(owner=owner, visibility=Visibility.UNLISTED)
    live, other = share_link_create(owner=owner, photo=photo), share_link_create(owner=owner, photo=photo)
    staff_with(client, "view_sharelink", "change_sharelink")
    answer = revoke(client, live)
    assert "Revoked 1 link(s)" in answer.content.decode()
    live.refresh_from_db()
    other.refresh_from_db()
    assert live.revoked_at is not None and other.revoked_at is None
    assert Client().get(f"/s/{live.token}/").status_code == 410
    revoke(client, live)  # again: already revoked, its time stays
    assert ShareLink.objects.get(pk=live.pk).revoked_at == live.revoked_at


def test_staff_who_may_only_look_cannot_revoke_nor_add(client, db) -> None:
    owner = UserFactory()
    link = share_link_create(owner=owner, photo=PhotoRowFactory(owner=owner, visibility=Visibility.PRIVATE))
    staff_with(client, "view_sharelink")
    assert 'value="revoke"' not in client.get(CHANGELIST).content.decode()
    revoke(client, link)
    link.refresh_from_db()
    assert link.revoked_at is None
    assert client.get(reverse("admin:sharing_sharelink_add")).status_code == 403

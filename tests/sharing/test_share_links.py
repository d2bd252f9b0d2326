"""Share links (issue 18), on the real stack: an owner makes a link to a private or unlisted
photo or album, a stranger opens it without an account and its images load; a password is
asked first (and guessing it is rate limited); an expired or revoked link, a hidden or
deleted photo, and anything of the owner's the link does not name show nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import TokenScope
from apps.accounts.services import api_token_create
from apps.albums.services import album_create
from apps.photos.models import Visibility
from apps.photos.services import photo_delete, photo_hide
from apps.sharing.models import ShareLink
from apps.sharing.services import share_link_create
from tests.factories import PhotoRowFactory, UserFactory, ready_photo

SHARE_HEADERS = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


@pytest.fixture
def owner(db, bucket):
    return UserFactory(username="lena", display_name="Lena Shore")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def links_on(page: str) -> list[str]:
    """The share links the owner's panel lists, as absolute URLs."""
    return [unescape(url) for url in re.findall(r'id="share-link-\d+" class="share-url" value="([^"]+)"', page)]


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


def image_urls(page: str) -> list[str]:
    return [unescape(url) for url in re.findall(r'<img [^>]*src="([^"]+)"', page)]


def test_owner_makes_a_link_and_a_stranger_opens_the_private_photo_and_its_image(owner) -> None:
    photo = ready_photo(owner, title="Tide pools at dawn", visibility=Visibility.PRIVATE)
    owner_client = signed_in(owner)
    made = owner_client.post(reverse("photo_share_create", args=[photo.pk]), {"expires": "7", "password": ""})
    assert made.status_code == 302 and made["Location"].endswith("#share-links")
    page = owner_client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    [link] = links_on(page)
    assert re.fullmatch(r"http://testserver/s/[\w-]{32}/", link)
    assert "Expires" in page and "0 views" in page and "Revoke" in page

    visitor = Client()
    assert visitor.get(reverse("photo_detail", args=[photo.pk])).status_code == 404  # the id alone: nothing
    shared = visitor.get(path_of(link))
    assert shared.status_code == 200
    body = shared.content.decode()
    assert "Tide pools at dawn" in body and "Shared with you by Lena Shore" in body
    for header, value in SHARE_HEADERS.items():
        assert shared[header] == value
    assert "X-Page-Cache" not in visitor.get(path_of(link))  # and never from the visitors' page cache
    # Its image loads for the stranger (a signed URL), while the same key unsigned does not.
    [image] = image_urls(body)
    loaded = requests.get(image, timeout=30)
    assert loaded.status_code == 200 and loaded.headers["Content-Type"] == "image/jpeg"
    assert requests.get(image.partition("?")[0], timeout=30).status_code != 200
    # The owner's panel counts the openings.
    assert "2 views" in owner_client.get(reverse("photo_detail", args=[photo.pk])).content.decode()


def test_expired_and_revoked_links_answer_410_and_unknown_ones_404_showing_nothing(owner) -> None:
    photo = ready_photo(owner, title="Quiet harbour", visibility=Visibility.UNLISTED)
    expiring = share_link_create(owner=owner, photo=photo, expires_in_days=1)
    revoked = share_link_create(owner=owner, photo=photo)
    visitor = Client()
    assert visitor.get(f"/s/{expiring.token}/").status_code == 200

    ShareLink.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))  # a day on
    gone = visitor.get(f"/s/{expiring.token}/")
    assert gone.status_code == 410 and "This link has expired." in gone.content.decode()
    assert "Quiet harbour" not in gone.content.decode()
    assert gone["Cache-Control"] == "private, no-store"

    owner_client = signed_in(owner)
    assert visitor.get(f"/s/{revoked.token}/").status_code == 200
    answer = owner_client.post(reverse("share_revoke", args=[revoked.pk]))
    assert answer.status_code == 302
    withdrawn = visitor.get(f"/s/{revoked.token}/")
    assert withdrawn.status_code == 410 and "withdrawn" in withdrawn.content.decode()
    assert "Quiet harbour" not in withdrawn.content.decode()
    assert links_on(owner_client.get(reverse("photo_detail", args=[photo.pk])).content.decode()) == [
        f"http://testserver/s/{expiring.token}/"  # the revoked one leaves the list; the expired one says so
    ]

    for unknown in ("/s/no-such-token/", f"/s/{revoked.token[:-1]}/", "/s/" + "x" * 300 + "/"):
        missing = visitor.get(unknown)
        assert missing.status_code == 404 and "Quiet harbour" not in missing.content.decode()


def test_a_password_is_asked_first_a_wrong_one_is_refused_clearly_and_guessing_is_rate_limited(owner) -> None:
    photo = ready_photo(owner, title="Family picnic", visibility=Visibility.PRIVATE)
    link = share_link_create(owner=owner, photo=photo, password="blue heron 7")
    url = f"/s/{link.token}/"
    friend, guesser = Client(), Client()

    asked = friend.get(url)
    assert asked.status_code == 200 and "This link has a password" in asked.content.decode()
    assert "Family picnic" not in asked.content.decode() and not image_urls(asked.content.decode())
    assert asked["Cache-Control"] == "private, no-store"
    # Its form posts back with the page's Origin (under no-referrer a browser sends `null`,
    # which CSRF protection refuses), and the address goes to this site only.
    assert asked["Referrer-Policy"] == "same-origin"
    unlocked = friend.post(url, {"password": "blue heron 7"})
    assert unlocked.status_code == 302 and unlocked["Location"] == url
    opened = friend.get(url)
    assert "Family picnic" in opened.content.decode() and opened["Referrer-Policy"] == "no-referrer"

    for _ in range(4):  # with the friend's, five tries in five minutes
        wrong = guesser.post(url, {"password": "guess"})
        assert wrong.status_code == 403
        assert "That is not this link&#x27;s password." in wrong.content.decode()
        assert "Family picnic" not in wrong.content.decode()
    limited = guesser.post(url, {"password": "blue heron 7"})  # even the right one, until the wait is over
    assert limited.status_code == 429 and "Too many tries at this link" in limited.content.decode()
    assert "Family picnic" not in limited.content.decode() and int(limited["Retry-After"]) > 0
    assert "Family picnic" not in guesser.get(url).content.decode()
    # The friend's unlock is theirs (their session) and is untouched by the guessing.
    assert "Family picnic" in friend.get(url).content.decode()


def test_nobody_but_the_owner_makes_lists_or_revokes_links(owner) -> None:
    photo = ready_photo(owner, title="Not yours", visibility=Visibility.PRIVATE)
    album = album_create(owner=owner, title="Not yours either", photo_ids=[photo.pk], visibility=Visibility.PRIVATE)
    link = share_link_create(owner=owner, photo=photo)
    stranger = UserFactory(username="mallory")
    client, api = signed_in(stranger), api_as(stranger)
    assert client.post(reverse("photo_share_create", args=[photo.pk]), {"expires": ""}).status_code == 404
    assert client.post(reverse("album_share_create", args=[album.pk]), {"expires": ""}).status_code == 404
    assert client.post(reverse("share_revoke", args=[link.pk])).status_code == 404
    assert client.post(reverse("share_revoke", args=[link.token])).status_code == 404
    for url in (f"/api/v1/photos/{photo.pk}/shares/", f"/api/v1/albums/{album.pk}/shares/"):
        assert api.get(url).status_code == 404
        assert api.post(url, {}, format="json").status_code == 404
        assert APIClient().get(url).status_code in (401, 403)
    for share in (str(link.pk), link.token):
        assert api.delete(f"/api/v1/shares/{share}/").status_code == 404
        assert APIClient().delete(f"/api/v1/shares/{share}/").status_code in (401, 403)
    assert Client().post(reverse("share_revoke", args=[link.pk])).status_code == 302  # to sign in
    assert ShareLink.objects.count() == 1 and ShareLink.objects.get().revoked_at is None
    assert "Not yours" not in client.get(reverse("photo_detail", args=[photo.pk])).content.decode()


def test_hidden_or_deleted_photos_are_gone_through_their_links(owner) -> None:
    moderator = UserFactory(username="mod", is_staff=True)
    hidden = ready_photo(owner, title="Taken down", visibility=Visibility.PRIVATE)
    deleted = ready_photo(owner, title="Thrown away", visibility=Visibility.UNLISTED)
    in_album = ready_photo(owner, title="Also taken down", visibility=Visibility.PRIVATE)
    album = album_create(owner=owner, title="Trip", photo_ids=[in_album.pk], visibility=Visibility.PRIVATE)
    links = {
        "hidden": share_link_create(owner=owner, photo=hidden),
        "deleted": share_link_create(owner=owner, photo=deleted),
        "album": share_link_create(owner=owner, album=album),
    }
    visitor = Client()
    assert all(visitor.get(f"/s/{link.token}/").status_code == 200 for link in links.values())

    locked = share_link_create(owner=owner, photo=hidden, password="hidden-too")
    photo_hide(photo=hidden, moderator=moderator, reason="Reported")
    assert visitor.get(f"/s/{locked.token}/").status_code == 404  # before any password is asked
    photo_hide(photo=in_album, moderator=moderator, reason="Reported")
    photo_delete(photo_id=deleted.pk)
    for name in ("hidden", "deleted"):
        answer = visitor.get(f"/s/{links[name].token}/")
        assert answer.status_code == 404, name
        assert "Taken down" not in answer.content.decode() and "Thrown away" not in answer.content.decode()
    album_page = visitor.get(f"/s/{links['album'].token}/").content.decode()
    assert "Trip" in album_page and "Also taken down" not in album_page  # hidden beats share
    assert visitor.get(f"/s/{links['album'].token}/{in_album.pk}/").status_code == 404


def test_an_album_link_shows_its_photos_whatever_their_visibility_and_nothing_else_of_the_owners(owner) -> None:
    inside = {
        visibility: ready_photo(owner, title=f"Inside {visibility}", visibility=visibility)
        for visibility in (Visibility.PRIVATE, Visibility.UNLISTED, Visibility.PUBLIC)
    }
    outside = ready_photo(owner, title="Outside private", visibility=Visibility.PRIVATE)
    other_album = album_create(owner=owner, title="Other album", photo_ids=[outside.pk], visibility=Visibility.PRIVATE)
    album = album_create(
        owner=owner, title="Secret garden", photo_ids=[photo.pk for photo in inside.values()], visibility="private"
    )
    link = share_link_create(owner=owner, album=album, expires_in_days=30)
    photo_link = share_link_create(owner=owner, photo=inside[Visibility.PRIVATE])
    visitor = Client()
    assert visitor.get(reverse("album_detail", args=[album.pk])).status_code == 404

    grid = visitor.get(f"/s/{link.token}/")
    body = grid.content.decode()
    assert grid.status_code == 200 and "Secret garden" in body
    assert re.findall(r'class="card-title">([^<]+)<', body) == [photo.title for photo in inside.values()]
    assert "Outside private" not in body and "Other album" not in body
    assert all(requests.get(url, timeout=30).status_code == 200 for url in image_urls(body))
    for header, value in SHARE_HEADERS.items():
        assert grid[header] == value

    for photo in inside.values():
        page = visitor.get(f"/s/{link.token}/{photo.pk}/")
        assert page.status_code == 200 and photo.title in page.content.decode()
        assert page["Referrer-Policy"] == "no-referrer"
    # Nothing else of the owner's through either link, nor a photo's link used as an album's.
    for url in (
        f"/s/{link.token}/{outside.pk}/",
        f"/s/{photo_link.token}/{inside[Visibility.UNLISTED].pk}/",
        f"/s/{photo_link.token}/{inside[Visibility.PRIVATE].pk}/",
        f"/s/{link.token}/{other_album.pk}/",
    ):
        answer = visitor.get(url)
        assert answer.status_code == 404, url
        assert "Outside private" not in answer.content.decode()


def test_public_items_get_no_link_and_bad_choices_are_refused_clearly(owner) -> None:
    public = ready_photo(owner, title="Everyone's")
    private = ready_photo(owner, title="Mine", visibility=Visibility.PRIVATE)
    client, api = signed_in(owner), api_as(owner)
    refused = client.post(reverse("photo_share_create", args=[public.pk]), {"expires": ""}, follow=True)
    assert "its own address already works for everyone" in refused.content.decode()
    assert 'id="share-links"' not in client.get(reverse("photo_detail", args=[public.pk])).content.decode()
    answer = api.post(f"/api/v1/photos/{public.pk}/shares/", {}, format="json")
    assert answer.status_code == 400 and "already works for everyone" in answer.content.decode()
    for data in ({"expires_in_days": 5}, {"password": "abc"}, {"expires_in_days": "soon"}):
        assert api.post(f"/api/v1/photos/{private.pk}/shares/", data, format="json").status_code == 400, data
    bad_form = client.post(reverse("photo_share_create", args=[private.pk]), {"expires": "5"}, follow=True)
    assert "The link was not made" in bad_form.content.decode()
    assert ShareLink.objects.count() == 0


def test_the_api_makes_lists_and_revokes_links(owner) -> None:
    photo = ready_photo(owner, title="By the API", visibility=Visibility.PRIVATE)
    album = album_create(owner=owner, title="API album", photo_ids=[photo.pk], visibility=Visibility.UNLISTED)
    api = api_as(owner)
    made = api.post(
        f"/api/v1/photos/{photo.pk}/shares/", {"expires_in_days": 7, "password": "swordfish"}, format="json"
    )
    assert made.status_code == 201
    link = made.json()
    assert link["url"] == f"http://testserver/s/{link['token']}/" and link["photo"] == photo.pk
    assert link["has_password"] and not link["expired"] and link["expires_at"] and link["view_count"] == 0
    assert "password" not in link  # not even its hash
    album_link = api.post(f"/api/v1/albums/{album.pk}/shares/", {}, format="json").json()
    assert album_link["album"] == album.pk and album_link["expires_at"] is None

    assert [entry["id"] for entry in api.get(f"/api/v1/photos/{photo.pk}/shares/").json()] == [link["id"]]
    assert [entry["id"] for entry in api.get(f"/api/v1/albums/{album.pk}/shares/").json()] == [album_link["id"]]
    assert api.delete(f"/api/v1/shares/{link['token']}/").status_code == 204
    assert api.delete(f"/api/v1/shares/{album_link['id']}/").status_code == 204
    assert api.get(f"/api/v1/photos/{photo.pk}/shares/").json() == []
    assert Client().get(f"/s/{link['token']}/").status_code == 410
    assert Client().get(f"/s/{album_link['token']}/").status_code == 410


def test_a_big_shared_album_pages_on_and_a_broken_page_link_is_a_clear_400(owner, settings) -> None:
    settings.PHOTOS_PAGE_SIZE = 2
    photos = [PhotoRowFactory(owner=owner, title=f"Frame {n}", visibility=Visibility.PRIVATE) for n in range(5)]
    album = album_create(owner=owner, title="Reel", photo_ids=[p.pk for p in photos], visibility="unlisted")
    link = share_link_create(owner=owner, album=album)
    visitor, url, seen = Client(), f"/s/{link.token}/", []
    while url:
        page = visitor.get(url).content.decode()
        seen += re.findall(r'class="card-title">([^<]+)<', page)
        more = re.search(r'rel="next" href="([^"]+)"', page)
        url = f"/s/{link.token}/{unescape(more.group(1))}" if more else ""
    assert seen == [f"Frame {n}" for n in range(5)]
    broken = visitor.get(f"/s/{link.token}/?after=not-a-cursor")
    assert broken.status_code == 400 and "Frame" not in broken.content.decode()
    assert broken["Cache-Control"] == "private, no-store"
    assert ShareLink.objects.get().view_count == 1  # an opening is the first page: its next pages are not


def test_links_made_while_private_stay_listed_with_revoke_when_the_item_turns_public(owner) -> None:
    from apps.photos.services import photo_update

    photo = ready_photo(owner, title="Was private", visibility=Visibility.PRIVATE)
    link = share_link_create(owner=owner, photo=photo)
    photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PUBLIC)
    page = signed_in(owner).get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert [path_of(url) for url in links_on(page)] == [f"/s/{link.token}/"]  # still live, so still shown
    assert reverse("share_revoke", args=[link.pk]) in page and "share-create" not in page  # no new ones
    signed_in(owner).post(reverse("share_revoke", args=[link.pk]))
    page = signed_in(owner).get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert 'id="share-links"' not in page  # public and nothing live: no panel
    photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    assert Client().get(f"/s/{link.token}/").status_code == 410


def test_guessing_from_one_address_does_not_lock_out_another(owner) -> None:
    photo = ready_photo(owner, title="Garden party", visibility=Visibility.PRIVATE)
    link = share_link_create(owner=owner, photo=photo, password="blue heron 7")
    url = f"/s/{link.token}/"
    guesser, recipient = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="198.51.100.20")
    for _ in range(5):
        assert guesser.post(url, {"password": "guess"}).status_code == 403
    assert guesser.post(url, {"password": "blue heron 7"}).status_code == 429
    assert recipient.post(url, {"password": "blue heron 7"}).status_code == 302  # their own tries are theirs
    assert "Garden party" in recipient.get(url).content.decode()


def test_with_redis_down_password_tries_are_refused_rather_than_uncounted(owner, own_redis) -> None:
    # Unbounded guessing at a six-character password is worse than a minute's wait.
    photo = ready_photo(owner, title="Reunion", visibility=Visibility.PRIVATE)
    link = share_link_create(owner=owner, photo=photo, password="blue heron 7")
    own_redis.stop()
    refused = Client().post(f"/s/{link.token}/", {"password": "blue heron 7"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Reunion" not in refused.content.decode()


def test_making_links_draws_on_a_per_person_budget(owner, settings) -> None:
    settings.WRITE_LIMITS = {**settings.WRITE_LIMITS, "share": "3/hour"}
    photo = ready_photo(owner, title="Budget", visibility=Visibility.PRIVATE)
    client, api = signed_in(owner), api_as(owner)
    for _ in range(2):
        assert client.post(reverse("photo_share_create", args=[photo.pk]), {"expires": ""}).status_code == 302
    assert api.post(f"/api/v1/photos/{photo.pk}/shares/", {}, format="json").status_code == 201
    refused = client.post(reverse("photo_share_create", args=[photo.pk]), {"expires": ""})
    assert refused.status_code == 429 and "a lot of share links" in refused.content.decode()
    assert api.post(f"/api/v1/photos/{photo.pk}/shares/", {}, format="json").status_code == 429
    assert ShareLink.objects.filter(photo=photo).count() == 3


def test_a_read_only_api_token_sees_links_cut_and_cannot_make_one(owner) -> None:
    """A link opens the photo for anyone and outlives the API token: handing it out is a write."""
    photo = ready_photo(owner, title="Not for a reader", visibility=Visibility.PRIVATE)
    link = share_link_create(owner=owner, photo=photo)
    _, read_key = api_token_create(user=owner, name="reader", scope=TokenScope.READ)
    _, write_key = api_token_create(user=owner, name="writer", scope=TokenScope.WRITE)
    url = f"/api/v1/photos/{photo.pk}/shares/"

    [seen] = APIClient(HTTP_AUTHORIZATION=f"Token {read_key}").get(url).json()
    assert seen["id"] == link.pk and seen["url"] is None
    assert seen["token"] == f"{link.token[:4]}…" and link.token not in str(seen)
    refused = APIClient(HTTP_AUTHORIZATION=f"Token {read_key}").post(url, {}, format="json")
    assert refused.status_code == 403 and "read-only" in refused.json()["error"]["message"]
    assert ShareLink.objects.filter(photo=photo).count() == 1

    [whole] = APIClient(HTTP_AUTHORIZATION=f"Token {write_key}").get(url).json()
    assert whole["token"] == link.token and whole["url"] == f"http://testserver/s/{link.token}/"

"""An attacker's tour of the whole site: every URL pattern of the HTML site, the admin and
the API, with every method, as an anonymous visitor, as a signed-in stranger and as a staff
member without permissions, aimed at one person's private, unlisted and hidden photos (and
their comments, their public, unlisted and private albums, API token and data export). Nothing
may answer 5xx, nothing of theirs may show in a body, and nothing of theirs may change. A URL
pattern the table below does not cover fails the run: a new route gets its row here first.

The table runs through the test client (fast); a representative subset with crafted input
runs against the site under gunicorn on PostgreSQL, Redis and SeaweedFS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from apps.accounts.models import ApiToken, DataExport, ExportStatus, User
from apps.accounts.services import api_token_create
from apps.accounts.views import EXPORT_LINK_SALT
from apps.albums.models import Album
from apps.albums.services import album_add_photos, album_create
from apps.moderation.models import Report
from apps.photos.models import Photo, Visibility, stored_name
from apps.photos.selectors import photo_share_token
from apps.sharing.models import ShareLink
from apps.sharing.services import share_link_create
from apps.social.models import Comment, Like
from apps.social.services import comment_create
from tests.conftest import staff_login
from tests.factories import UserFactory, ready_photo

ROLES = ["anonymous", "stranger", "staff"]
ATTACKER_ADDRESS = "203.0.113.66"  # not loopback: /metrics and /readyz must treat it as the public

# What a route does with the victim's things, for reads (GET, HEAD) and for writes:
#   page   open to anyone (or to the requester's own account): any answer but a 5xx,
#          and none of the victim's secrets in it
#   view   shows or acts on a photo (or comment) as photo_get_for_viewer allows: refused,
#          except staff may see unlisted and hidden photos (moderators)
#   own    the owner's alone: refused for all three
#   staff  staff pages (the admin's index, /ops/): refused unless staff
PAGE, VIEW, OWN, STAFF = "page", "view", "own", "staff"


@dataclass(frozen=True)
class Row:
    read: str
    write: str = ""  # "" = as read
    methods: tuple[str, ...] = ("GET", "POST")
    raises_for_staff: bool = False  # /ops/sentry-check/: an error on purpose, for Sentry to report

    def mode(self, method: str) -> str:
        if method == "OPTIONS":  # the API's description of the endpoint, the same for any id: no refusal owed
            return PAGE
        return self.read if method in ("GET", "HEAD") else (self.write or self.read)


API_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
GET_ONLY = ("GET",)  # sign-in flows acting on the requester's own session (logout, 2FA): reading is the attack

TABLE: dict[str, Row] = {
    # photos
    "": Row(PAGE),
    "explore/": Row(PAGE),
    "following/": Row(PAGE),
    "tags/<str:name>/": Row(PAGE),
    "search/": Row(PAGE),
    "upload/": Row(PAGE),
    "upload/direct/": Row(PAGE),
    "upload/direct/complete/": Row(PAGE),
    "photos/<int:photo_id>/": Row(VIEW),
    "photos/<int:photo_id>/edit/": Row(OWN),
    "photos/<int:photo_id>/delete/": Row(OWN),
    "photos/<int:photo_id>/retry/": Row(OWN),
    "photos/<int:photo_id>/original/": Row(OWN),
    "media/<path:name>": Row(VIEW),  # embedded mode only
    # Names its photo in ?url= (none here: a 400); the visibility matrix aims it at each photo.
    "oembed": Row(PAGE),
    # social, moderation, albums
    "photos/<int:photo_id>/like/": Row(VIEW),
    "photos/<int:photo_id>/comments/": Row(VIEW),
    "comments/<int:comment_id>/delete/": Row(OWN),
    "photos/<int:photo_id>/report/": Row(VIEW),
    "comments/<int:comment_id>/report/": Row(VIEW),
    "accounts/people/<str:username>/follow/": Row(PAGE),
    "accounts/people/<str:username>/followers/": Row(PAGE),
    "accounts/people/<str:username>/following/": Row(PAGE),
    # notifications: only ever the requester's own
    "notifications/": Row(PAGE),
    "notifications/read/": Row(PAGE),
    "notifications/digest/": Row(PAGE),
    "albums/new/": Row(PAGE),
    "albums/add-photo/": Row(PAGE),
    "albums/<int:album_id>/": Row(VIEW, OWN),
    "albums/<int:album_id>/edit/": Row(OWN),
    "albums/<int:album_id>/arrange/": Row(OWN),
    "albums/<int:album_id>/delete/": Row(OWN),
    # share links: /s/ opens only with a link's random token (a forged one here: the victim's
    # are secrets); making, listing and revoking links is the owner's alone
    "s/<str:token>/": Row(VIEW),
    "s/<str:token>/<int:photo>/": Row(VIEW),
    "photos/<int:photo_id>/shares/": Row(OWN),
    "albums/<int:album_id>/shares/": Row(OWN),
    "shares/<str:share>/revoke/": Row(OWN),
    # accounts: ours, then allauth's
    "accounts/signup/": Row(PAGE),
    "accounts/login/": Row(PAGE),
    "accounts/logout/": Row(PAGE, methods=GET_ONLY),
    "accounts/people/<str:username>/": Row(PAGE),
    "accounts/people/<str:username>/timeline/": Row(PAGE),
    "accounts/liked/": Row(PAGE),
    "accounts/profile/": Row(PAGE),
    "accounts/settings/": Row(PAGE),
    "accounts/tokens/": Row(PAGE),
    # Only ever the requester's own token: another's id is answered as an unknown one (back
    # to their own list) and the token lives on (the snapshot checks).
    "accounts/tokens/<int:token_id>/revoke/": Row(PAGE),
    "accounts/export/": Row(PAGE),
    "accounts/export/<str:signed>/": Row(OWN),
    "accounts/delete/": Row(PAGE),
    "accounts/inactive/": Row(PAGE, methods=GET_ONLY),
    "accounts/reauthenticate/": Row(PAGE, methods=GET_ONLY),
    "accounts/reauthenticate/code/": Row(PAGE, methods=GET_ONLY),
    "accounts/reauthenticate/code/confirm/": Row(PAGE, methods=GET_ONLY),
    "accounts/email/": Row(PAGE, methods=GET_ONLY),
    "accounts/confirm-email/": Row(PAGE, methods=GET_ONLY),
    "accounts/password/change/": Row(PAGE, methods=GET_ONLY),
    "accounts/password/set/": Row(PAGE, methods=GET_ONLY),
    "accounts/password/reset/": Row(PAGE, methods=GET_ONLY),
    "accounts/login/code/confirm/": Row(PAGE, methods=GET_ONLY),
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": Row(PAGE),
    "accounts/password/reset/key/done/": Row(PAGE, methods=GET_ONLY),
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": Row(PAGE),
    "accounts/password/reset/done/": Row(PAGE, methods=GET_ONLY),
    "accounts/2fa/": Row(PAGE, methods=GET_ONLY),
    "accounts/2fa/authenticate/": Row(PAGE, methods=GET_ONLY),
    "accounts/2fa/reauthenticate/": Row(PAGE, methods=GET_ONLY),
    "accounts/2fa/totp/activate/": Row(PAGE, methods=GET_ONLY),
    "accounts/2fa/totp/deactivate/": Row(PAGE, methods=GET_ONLY),
    "accounts/2fa/recovery-codes/": Row(PAGE, methods=GET_ONLY),
    "accounts/2fa/recovery-codes/generate/": Row(PAGE, methods=GET_ONLY),
    "accounts/2fa/recovery-codes/download/": Row(PAGE, methods=GET_ONLY),
    # operators
    "ops/": Row(STAFF),
    "ops/retry-failed/": Row(STAFF),
    "ops/sentry-check/": Row(STAFF, methods=GET_ONLY, raises_for_staff=True),
    "healthz": Row(PAGE),
    "readyz": Row(PAGE),
    "metrics": Row(OWN),  # operators only (loopback, allowed networks or the metrics token)
    # the API
    "api/v1/auth/token/": Row(PAGE, methods=API_METHODS),
    "api/v1/me/": Row(PAGE, methods=API_METHODS),  # the requester's own account
    "api/v1/users/<str:username>/": Row(PAGE, methods=API_METHODS),
    "api/v1/users/<str:username>/follow/": Row(PAGE, methods=API_METHODS),
    "api/v1/photos/": Row(PAGE, methods=API_METHODS),
    "api/v1/photos/<int:photo_id>/": Row(VIEW, OWN, methods=API_METHODS),
    "api/v1/photos/<int:photo_id>/like/": Row(VIEW, methods=API_METHODS),
    "api/v1/photos/<int:photo_id>/comments/": Row(VIEW, methods=API_METHODS),
    "api/v1/comments/<int:comment_id>/": Row(OWN, methods=API_METHODS),
    "api/v1/uploads/": Row(PAGE, methods=API_METHODS),
    "api/v1/uploads/complete/": Row(PAGE, methods=API_METHODS),
    "api/v1/feed/": Row(PAGE, methods=API_METHODS),
    "api/v1/popular/": Row(PAGE, methods=API_METHODS),
    "api/v1/albums/": Row(PAGE, methods=API_METHODS),
    "api/v1/albums/<int:album_id>/": Row(VIEW, OWN, methods=API_METHODS),
    "api/v1/albums/<int:album_id>/photos/": Row(VIEW, OWN, methods=API_METHODS),
    "api/v1/albums/<int:album_id>/cover/": Row(VIEW, OWN, methods=API_METHODS),
    "api/v1/photos/<int:photo_id>/shares/": Row(OWN, methods=API_METHODS),
    "api/v1/albums/<int:album_id>/shares/": Row(OWN, methods=API_METHODS),
    "api/v1/shares/<str:share>/": Row(OWN, methods=API_METHODS),
    "api/v1/reports/": Row(PAGE, methods=API_METHODS),
    "api/v1/notifications/": Row(PAGE, methods=API_METHODS),
    "api/v1/notifications/read/": Row(PAGE, methods=API_METHODS),
    "api/schema/": Row(PAGE, methods=GET_ONLY),
    "api/docs/": Row(PAGE, methods=GET_ONLY),
    "i18n/setlang/": Row(PAGE),  # the language switcher: sets a cookie and redirects
}

# The admin's own URLs, by shape: the site's pages, then every registered model's. A custom
# admin view (a URL of another shape) is not covered and fails the run.
ADMIN_SITE_ROWS: dict[str, Row] = {
    "admin/": Row(STAFF, methods=GET_ONLY),
    "admin/login/": Row(PAGE, methods=GET_ONLY),
    "admin/logout/": Row(PAGE, methods=GET_ONLY),  # a POST would end the session under test
    "admin/password_change/": Row(STAFF, methods=GET_ONLY),
    "admin/password_change/done/": Row(STAFF, methods=GET_ONLY),
    "admin/autocomplete/": Row(STAFF, methods=GET_ONLY),
    "admin/jsi18n/": Row(STAFF, methods=GET_ONLY),
    "admin/r/<path:content_type_id>/<path:object_id>/": Row(STAFF, methods=GET_ONLY),
    "admin/(?P<url>.*)$": Row(STAFF, methods=GET_ONLY),
    "admin/accounts/user/<id>/password/": Row(OWN),  # setting someone's password
}
ADMIN_MODEL_SHAPES = [
    r"admin/\^\(\?P<app_label>[\w|]+\)/\$",
    r"admin/\w+/\w+/",
    r"admin/\w+/\w+/add/",
    r"admin/\w+/\w+/<path:object_id>/(history/|delete/|change/)?",
]


def row_for(pattern: str) -> Row | None:
    if pattern in TABLE:
        return TABLE[pattern]
    if pattern in ADMIN_SITE_ROWS:
        return ADMIN_SITE_ROWS[pattern]
    if any(re.fullmatch(shape, pattern) for shape in ADMIN_MODEL_SHAPES):
        return Row(OWN)  # staff without permissions: 403; everyone else: the admin's login
    return None


def url_patterns(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    """Every URL pattern the site answers, as one string from the root."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, prefix + str(entry.pattern))
        else:
            assert isinstance(entry, URLPattern)
            yield prefix + str(entry.pattern)


def test_every_url_pattern_is_in_the_table() -> None:
    uncovered = [pattern for pattern in url_patterns() if row_for(pattern) is None]
    assert not uncovered, f"add these routes to tests/photosite/test_hostile.py's table: {uncovered}"


# --- The victim's world -----------------------------------------------------------------


SECRET = "Q7X"  # in every secret's text, so a leak is easy to find


@dataclass
class World:
    owner: User
    photos: dict[str, Photo]  # "private", "unlisted", "hidden", "public"
    comments: dict[str, Comment]
    album: Album  # public, holding every photo above
    albums: dict[str, Album]  # "private", "unlisted": the album's own visibility
    token: ApiToken
    token_key: str
    export_link: str
    share_token: str

    def secrets_for(self, role: str) -> list[str]:
        """What must not appear in a body shown to `role`: staff (moderators) may see unlisted
        and hidden photos and their comments, never private ones, links' tokens or keys."""
        seen_by_staff = ("unlisted", "hidden") if role == "staff" else ()
        secrets = [self.token_key, self.share_token, self.owner.email]
        for label in ("private", "unlisted", "hidden"):
            if label not in seen_by_staff:
                secrets += [self.photos[label].title, self.comments[label].body]
        secrets += [album.title for label, album in self.albums.items() if label not in seen_by_staff]
        secrets += list(ShareLink.objects.filter(owner=self.owner).values_list("token", flat=True))
        return secrets


@pytest.fixture
def world(db, bucket) -> World:
    owner = UserFactory(username="victim", email=f"victim-{SECRET}@example.com")
    photos = {
        "private": ready_photo(owner, title=f"Private {SECRET} one", visibility=Visibility.PRIVATE),
        "unlisted": ready_photo(owner, title=f"Unlisted {SECRET} one", visibility=Visibility.UNLISTED),
        "hidden": ready_photo(owner, title=f"Hidden {SECRET} one"),
        "public": ready_photo(owner, title="Public one", tags="open"),
    }
    comments = {
        label: comment_create(author=owner, photo=photos[label], body=f"Comment {SECRET} on {label}")
        for label in ("private", "unlisted", "hidden")
    }
    Photo.objects.filter(pk=photos["hidden"].pk).update(hidden_at=timezone.now(), hidden_reason="Takedown")
    album = album_create(owner=owner, title="Victim album")
    album_add_photos(album=album, photo_ids=[photo.pk for photo in photos.values()])
    # Albums with their own visibility, holding the public photo (which anyone may see).
    albums = {
        label: album_create(owner=owner, title=f"{label.title()} {SECRET} album", visibility=label)
        for label in ("private", "unlisted")
    }
    for own_album in albums.values():
        album_add_photos(album=own_album, photo_ids=[photos["public"].pk])
    # Share links to the private photo and album (their tokens are secrets, as the API token).
    share_link_create(owner=owner, photo=photos["private"])
    share_link_create(owner=owner, album=albums["private"], password=f"victim-{SECRET}")
    token, key = api_token_create(user=owner, name="victim", scope="write")
    cache.clear()  # the hidden photo was hidden behind the services' backs: no card may remember it shown
    export = DataExport.objects.create(user=owner, status=ExportStatus.READY, key=f"private/exports/{SECRET}.zip")
    return World(
        owner=owner,
        photos=photos,
        comments=comments,
        album=album,
        albums=albums,
        token=token,
        token_key=key,
        export_link=signing.TimestampSigner(salt=EXPORT_LINK_SALT).sign(str(export.pk)),
        share_token=photo_share_token(photo=photos["unlisted"]),
    )


MISSING_ID = "9" * 30  # far past any id: must be a 404, not an overflow


def targets(pattern: str, world: World) -> list[tuple[str, dict[str, str]]]:
    """(label, URL values) to try for a pattern: each of the victim's secret things it can name."""
    photos = {label: str(photo.pk) for label, photo in world.photos.items() if label != "public"}
    names = set(re.findall(r"<(?:\w+:)?(\w+)>", pattern))
    if "photo_id" in names:
        return [(label, {"photo_id": pk}) for label, pk in [*photos.items(), ("missing", MISSING_ID)]]
    if "comment_id" in names:
        return [(label, {"comment_id": str(comment.pk)}) for label, comment in world.comments.items()]
    if "album_id" in names:
        albums = [("public", world.album), *world.albums.items()]
        return [(label, {"album_id": str(album.pk)}) for label, album in albums] + [
            ("missing", {"album_id": MISSING_ID})
        ]
    admin_model = re.match(r"admin/(\w+)/(\w+)/", pattern)
    if "object_id" in names and admin_model:
        ids = {
            "photos/photo": list(photos.items()),
            "accounts/user": [("owner", str(world.owner.pk))],
            "social/comment": [(label, str(comment.pk)) for label, comment in world.comments.items()],
            "albums/album": [("album", str(world.album.pk))],
            "accounts/apitoken": [("token", str(world.token.pk))],
            "sharing/sharelink": [
                (f"share {pk}", str(pk))
                for pk in ShareLink.objects.filter(owner=world.owner).values_list("pk", flat=True)
            ],
        }.get(f"{admin_model.group(1)}/{admin_model.group(2)}", [("first", "1")])
        return [(label, {"object_id": value}) for label, value in ids]
    values = {
        "album_id": str(world.album.pk),
        "token_id": str(world.token.pk),
        "signed": world.export_link,
        "username": world.owner.username,
        "name": "open",
        "content_type_id": str(ContentType.objects.get_for_model(Photo).pk),
        "object_id": str(world.photos["private"].pk),
        "app_label": "photos",
        "url": "no-such-page/",
        "key": "forged-key",
        "uidb36": "1",
        "id": str(world.owner.pk),
        "token": "forged-share-token-" + "x" * 13,
        "photo": str(world.photos["private"].pk),
        "share": str(ShareLink.objects.filter(owner=world.owner).values_list("pk", flat=True).first()),
    }
    label = {"photo_id": "private", "signed": "export", "token_id": "token"}.get(next(iter(names), ""), "owner")
    if "name" in names and pattern.startswith("media/"):
        values["name"] = stored_name(world.photos["private"].original)
        label = "private"
    hostile = {"username": "<script>alert(1)</script>", "name": "<b>x</b>"}
    found = [(label, {name: values[name] for name in names})]
    found += [("hostile", {name: hostile[name]}) for name in names if name in hostile]
    return found


def fill(pattern: str, values: dict[str, str]) -> str:
    """The URL a pattern makes with these values (route converters and regex groups alike)."""
    url = re.sub(
        r"<(?:(\w+):)?(\w+)>", lambda m: quote(values[m.group(2)], safe="/" if m.group(1) == "path" else ""), pattern
    )
    while (start := url.find("(?P<")) != -1:
        name = url[start + 4 : url.index(">", start)]
        depth, end = 0, start
        for end in range(start, len(url)):
            depth += {"(": 1, ")": -1}.get(url[end], 0)
            if depth == 0:
                break
        url = url[:start] + quote(values[name], safe="") + url[end + 1 :]
    return "/" + url.replace("^", "").replace("$", "")


# --- The tour ------------------------------------------------------------------------------

LOGIN_PAGES = ("/accounts/login/", "/admin/login/", "/accounts/2fa/")
HOSTILE_QUERY = (
    "?after=%5B%7B%22t%22%3A1%7D%2CInfinity%5D&cursor=" + "%5B" * 1100 + "&from=tag%3Aa%2Fb&tag=a%2Fb"
    "&q=%00&limit=99999999999999999999999&month=9999-99&date_from=x&camera=%00&k=" + "x" * 5000
)


def refused(status: int, location: str, url: str) -> bool:
    """Said no without saying what is there: a 4xx, or off to sign in (or to the admin's index,
    or from an admin object's old URL to its change page, which refuses in turn)."""
    if status in (400, 401, 403, 404, 405, 429):
        return True
    path = urlsplit(location).path
    return status in (301, 302) and (path.startswith(LOGIN_PAGES) or path in ("/admin/", f"{url}change/"))


def may_pass(mode: str, role: str, label: str) -> bool:
    """Whether `role` may get anything but a refusal from a route of `mode` aimed at `label`."""
    if mode == PAGE:
        return True
    if mode == STAFF:
        return role == "staff"
    if mode == VIEW:  # "public": the public album, aimed at too (the photo routes aim at no public photo)
        return label == "public" or (role == "staff" and label in ("unlisted", "hidden"))
    return False  # OWN


def snapshot(world: World) -> object:
    """The victim's things as they stand: nothing the tour does may change them."""
    owner = User.objects.get(pk=world.owner.pk)
    return (
        list(Photo.objects.filter(owner=owner).order_by("pk").values_list("pk", "title", "visibility", "hidden_at")),
        list(Comment.objects.filter(photo__owner=owner).order_by("pk").values_list("pk", "body", "hidden_at")),
        list(Album.objects.filter(owner=owner).order_by("pk").values_list("pk", "title", "cover_id", "visibility")),
        list(world.album.entries.order_by("position").values_list("photo_id", flat=True)),
        ApiToken.objects.filter(pk=world.token.pk).exists(),
        DataExport.objects.filter(user=owner).count(),
        list(ShareLink.objects.filter(owner=owner).order_by("pk").values_list("pk", "revoked_at", "password")),
        (owner.is_active, owner.password, owner.email, owner.display_name),
    )


@pytest.fixture
def generous_limits(settings, monkeypatch) -> None:
    """Limits far above the tour's few hundred requests, so each answer is the route's own."""
    for scope in ("anon", "user", "login"):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "1000000/min")
    settings.WRITE_LIMITS = dict.fromkeys(settings.WRITE_LIMITS, "1000000/min")


def client_for(role: str) -> tuple[Client, User | None]:
    client = Client(REMOTE_ADDR=ATTACKER_ADDRESS, raise_request_exception=False)  # a 500 is a finding, not a crash
    if role == "anonymous":
        return client, None
    attacker = UserFactory(username=f"attacker-{role}", is_staff=role == "staff")
    if role == "staff":
        staff_login(client, attacker)  # past the second factor: what stops them is permissions
    else:
        client.force_login(attacker)
    return client, attacker


@pytest.mark.parametrize("role", ROLES)
def test_nothing_of_the_victims_leaks_changes_or_breaks_for_any_route_and_method(role, world, generous_limits) -> None:
    client, attacker = client_for(role)
    before = snapshot(world)
    secrets = world.secrets_for(role)
    problems: list[str] = []
    tried = 0
    for pattern in sorted(set(url_patterns())):
        row = row_for(pattern)
        assert row is not None, pattern  # test_every_url_pattern_is_in_the_table says which
        for label, values in targets(pattern, world):
            url = fill(pattern, values)
            queries = ["", HOSTILE_QUERY] if "GET" in row.methods and label != "hostile" else [""]
            for method in row.methods:
                for query in queries if method == "GET" else [""]:
                    response = client.generic(method, url + query)
                    tried += 1
                    where = f"{method} {url}{query[:40]} ({label})"
                    body = b"" if response.streaming else response.content
                    text = body.decode(errors="replace")
                    if response.status_code >= 500 and not (row.raises_for_staff and role == "staff"):
                        problems.append(f"{where}: {response.status_code}")
                    leaked = [secret for secret in secrets if secret in text or secret in response.get("Location", "")]
                    if leaked:
                        problems.append(f"{where}: shows {leaked}")
                    if "<script>alert(1)" in text or "<b>x</b>" in text:
                        problems.append(f"{where}: echoes markup unescaped")
                    mode = row.mode(method)
                    if not may_pass(mode, role, label) and not refused(
                        response.status_code, response.get("Location", ""), url
                    ):
                        problems.append(
                            f"{where}: {mode} route answered {response.status_code} {response.get('Location', '')}"
                        )
    assert not problems, "\n".join(problems)
    assert tried > 300
    assert snapshot(world) == before
    if attacker is not None:  # their own writes were refused too: empty forms change nothing
        assert not Comment.objects.filter(author=attacker).exists()
        assert not Report.objects.filter(reporter=attacker).exists()
        if role == "stranger":
            assert not Like.objects.filter(user=attacker).exists()


# --- Against the running site ----------------------------------------------------------------


def test_the_running_site_refuses_crafted_requests_without_a_5xx_or_a_leak(world, site_server_factory) -> None:
    server = site_server_factory()
    _, stranger_key = api_token_create(user=UserFactory(username="prober"), name="probe", scope="write")
    as_stranger = {"Authorization": f"Token {stranger_key}"}
    private, unlisted, hidden, public = (world.photos[label] for label in ("private", "unlisted", "hidden", "public"))
    secrets = world.secrets_for("stranger")

    def send(
        method: str, path: str, headers: dict[str, str] | None = None, *, shows: str = "", **kwargs: Any
    ) -> requests.Response:
        response = requests.request(
            method, server.url + path, headers=headers, timeout=20, allow_redirects=False, **kwargs
        )
        assert response.status_code < 500, (method, path, response.status_code, response.text[:500])
        leaked = [secret for secret in secrets if secret in response.text and secret != shows]
        assert not leaked, (method, path, leaked)
        return response

    for photo in (private, unlisted, hidden):
        assert send("GET", f"/photos/{photo.pk}/").status_code == 404
        assert send("GET", f"/api/v1/photos/{photo.pk}/", as_stranger).status_code == 404
        assert send("PATCH", f"/api/v1/photos/{photo.pk}/", as_stranger, json={"title": "Mine now"}).status_code == 404
        assert send("DELETE", f"/api/v1/photos/{photo.pk}/", as_stranger).status_code == 404
        assert send("POST", f"/api/v1/photos/{photo.pk}/comments/", as_stranger, json={"body": "hi"}).status_code == 404
    by_link = send("GET", f"/api/v1/photos/{unlisted.pk}/?k={world.share_token}", shows=unlisted.title)
    assert by_link.status_code == 200  # the link works
    assert send("DELETE", "/api/v1/comments/{}/".format(world.comments["private"].pk), as_stranger).status_code == 404
    assert send("GET", f"/api/v1/photos/?album={world.album.pk}", as_stranger).status_code == 200  # public ones only
    # Someone else's token, forged or revoked, is no way in.
    assert send("GET", "/api/v1/feed/", {"Authorization": "Token pst_forged"}).status_code == 401
    # A form post without the CSRF token is refused before the view looks at who sent it.
    assert send("POST", f"/photos/{public.pk}/like/", data={"liked": "1"}).status_code == 403
    # Crafted input from the security review: 4xx, in the API's JSON error format.
    for path in (
        "/api/v1/photos/?cursor=" + quote(json.dumps([{"t": 1}, float("inf")])),
        "/api/v1/photos/?cursor=" + "%5B" * 1100,
        "/api/v1/photos/?tag=a/b",
        "/api/v1/photos/?limit=99999999999999999999",
        f"/api/v1/photos/{MISSING_ID}/",
    ):
        response = send("GET", path)
        assert 400 <= response.status_code < 500 and response.json()["error"]["status"] == response.status_code, path
    assert send("GET", f"/photos/{public.pk}/?from=tag:a/b").status_code == 400
    assert send("GET", "/search/?q=" + "%00" * 10).status_code < 500
    # (/metrics and /readyz's details: the table, from an outside address; here we are loopback.)
    # Nothing the probes sent changed the victim's things.
    assert Photo.objects.get(pk=private.pk).title == private.title
    assert Comment.objects.filter(pk=world.comments["private"].pk).exists()
    assert not Comment.objects.filter(author__username="prober").exists()

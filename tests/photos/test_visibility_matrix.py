"""Who sees which photo where: each kind of viewer x each visibility x each page, listing and count.

Public: everywhere, for everyone. Unlisted: its own page for anyone with the link, and
its owner's own profile, timeline, albums, searches and Liked page. Private: only its owner. The caches in front of the
grids and the whole pages kept for visitors must never carry a photo from one viewer to
another, so every case runs twice: once with cold caches, once after the owner and a
visitor have warmed every page.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.albums.selectors import album_share_path
from apps.albums.services import album_add_photos, album_create, album_update
from apps.photos.models import Visibility
from apps.photos.selectors import photo_share_path
from apps.sharing.models import ShareLink
from apps.sharing.services import share_link_create, share_link_revoke
from apps.social.selectors import photo_counts
from apps.social.services import follow_set, like_set
from tests.factories import UserFactory, ready_photo

VIEWERS = ["anonymous", "stranger", "follower", "owner"]
EVERYWHERE = {"home", "explore", "tag", "search", "profile", "timeline", "album", "photo"}


def expected_pages(viewer: str, visibility: str) -> set[str]:
    """Where `viewer` finds a photo of `visibility` (the feed shows followed people's public photos)."""
    liked = {"liked"} if viewer == "owner" else set()  # the owner liked each of their photos
    if visibility == Visibility.PUBLIC:
        return EVERYWHERE | liked | ({"feed"} if viewer == "follower" else set())
    if viewer == "owner":  # their own searches find their own photos too
        return {"profile", "timeline", "album", "photo", "search", "liked"}
    return {"photo"} if visibility == Visibility.UNLISTED else set()


@pytest.fixture
def world(db, bucket):
    owner = UserFactory(username="owner")
    follower = UserFactory(username="fan")
    stranger = UserFactory(username="stranger")
    follow_set(follower=follower, followee=owner, following=True)
    photos = {
        visibility: ready_photo(owner, title=f"Matrix {visibility} shot", visibility=visibility, tags="matrixtag")
        for visibility in (Visibility.PUBLIC, Visibility.UNLISTED, Visibility.PRIVATE)
    }
    album = album_create(owner=owner, title="Matrix album")
    album_add_photos(album=album, photo_ids=[photo.pk for photo in photos.values()])
    for photo in photos.values():
        like_set(user=owner, photo=photo, liked=True)  # so each one would qualify for "popular"
    users = {"owner": owner, "follower": follower, "stranger": stranger, "anonymous": None}
    return users, photos, album


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def pages(album, photo) -> dict[str, str]:
    return {
        "home": reverse("home"),
        "explore": reverse("explore"),
        "feed": reverse("feed"),
        "tag": reverse("tag", args=["matrixtag"]),
        "search": reverse("search") + "?q=matrix",
        "profile": reverse("profile", args=["owner"]),
        "timeline": reverse("timeline", args=["owner"]),
        "liked": reverse("liked"),
        "album": reverse("album_detail", args=[album.pk]),
        # By the link the owner hands out: for an unlisted photo it carries the token
        # (without it the page is a 404, tests/photos/test_share_links.py).
        "photo": photo_share_path(photo=photo),
    }


def count_on(body: str, label: str) -> int:
    match = re.search(rf"<strong>(\d+)</strong> {label}", body) or re.search(rf"(\d+) public {label}", body)
    assert match, f"no {label} count on the page"
    return int(match.group(1))


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize("visibility", [Visibility.PUBLIC, Visibility.UNLISTED, Visibility.PRIVATE])
@pytest.mark.parametrize("viewer", VIEWERS)
def test_visibility_matrix(world, viewer, visibility, warm) -> None:
    users, photos, album = world
    photo = photos[visibility]
    urls = pages(album, photo)
    cache.clear()
    if warm:
        # The owner fills the grids' caches; a visitor (twice) the whole-page cache
        # (photosite/pagecache.py), whose copies must reach no signed-in viewer.
        warmers = [client_for(users["owner"]), client_for(None), client_for(None)]
        for warmer in warmers:
            for url in urls.values():
                warmer.get(url)
    client = client_for(users[viewer])
    found, from_page_cache = set(), set()
    expected = expected_pages(viewer, visibility)
    for name, url in urls.items():
        response = client.get(url)
        if response.get("X-Page-Cache") == "hit":
            from_page_cache.add(name)
        if name in ("feed", "liked") and users[viewer] is None:
            assert response.status_code == 302  # these ask to log in
            assert response["Location"].startswith(reverse("login"))
            continue
        # A photo page the viewer may not see does not exist for them: 404, never a 403
        # or a redirect that would tell them it is there.
        wanted = 404 if name == "photo" and "photo" not in expected else 200
        assert response.status_code == wanted, (name, response.status_code)
        if photo.title in response.content.decode():
            found.add(name)
    assert found == expected
    # Visitors' warm pages came from the whole-page cache, nobody signed in got one. Not the
    # photo page by its link (?k=), nor search.
    kept_for_visitors = {"home", "explore", "tag", "profile", "timeline", "album"}
    assert from_page_cache == (kept_for_visitors if warm and viewer == "anonymous" else set())


@pytest.mark.parametrize("viewer", VIEWERS)
def test_counts_only_count_what_the_viewer_may_see(world, viewer) -> None:
    users, _, _ = world
    client = client_for(users[viewer])
    sees_all = viewer == "owner"
    profile = client.get(reverse("profile", args=["owner"])).content.decode()
    assert count_on(profile, "photos?") == (3 if sees_all else 1)
    assert re.search(rf"{3 if sees_all else 1} photos?</small>", profile), "album count on the profile"
    tag_page = client.get(reverse("tag", args=["matrixtag"])).content.decode()
    assert count_on(tag_page, "photos?") == 1  # tag pages list public photos only, for everyone


@pytest.mark.parametrize("viewer", ["anonymous", "stranger", "follower"])
def test_private_photo_cannot_be_liked_commented_or_reported_by_others(world, viewer) -> None:
    users, photos, _ = world
    private = photos[Visibility.PRIVATE]
    client = client_for(users[viewer])
    for name, data in (("photo_like", {"liked": "1"}), ("comment_create", {"body": "hello"})):
        response = client.post(reverse(name, args=[private.pk]), data)
        assert response.status_code == (302 if users[viewer] is None else 404)  # anonymous: to the login page
    report_page = client.get(reverse("photo_report", args=[private.pk]))
    if users[viewer] is None:
        assert report_page.status_code == 302  # to the login page, which says nothing of the photo
        assert report_page["Location"].startswith(reverse("login"))
    else:
        assert report_page.status_code == 404
    counts = photo_counts(photo_id=private.pk)
    assert (counts.likes, counts.comments) == (1, 0)  # the owner's like only


def test_album_cover_falls_back_to_a_photo_the_visitor_may_see(world) -> None:
    users, photos, album = world
    album.cover = photos[Visibility.PRIVATE]
    album.save(update_fields=["cover"])
    page = client_for(users["stranger"]).get(reverse("profile", args=["owner"])).content.decode()
    body = page[page.index('id="albums"') : page.index("</section>", page.index('id="albums"'))]
    private_renditions = {r.file.name for r in photos[Visibility.PRIVATE].renditions.all()}
    public_renditions = {r.file.name for r in photos[Visibility.PUBLIC].renditions.all()}
    assert not any(name in body for name in private_renditions)
    assert any(name in body for name in public_renditions)


@pytest.mark.parametrize("visibility", [Visibility.PUBLIC, Visibility.UNLISTED, Visibility.PRIVATE])
def test_oembed_and_link_previews_show_only_what_anyone_holding_the_link_may_see(world, visibility) -> None:
    """An embed or a link preview is shown to whoever sees the page it is pasted in, so it
    answers alike whoever asks (the owner too): public photos, unlisted ones by their link."""
    users, photos, _ = world
    photo = photos[visibility]
    by_link = "http://testserver" + photo_share_path(photo=photo)
    by_id = "http://testserver" + reverse("photo_detail", args=[photo.pk])
    embeddable = {by_link: visibility != Visibility.PRIVATE, by_id: visibility == Visibility.PUBLIC}
    for viewer in VIEWERS:
        client = client_for(users[viewer])
        for url, expected in embeddable.items():
            answer = client.get(reverse("oembed") + "?" + urlencode({"url": url, "format": "json"}))
            assert answer.status_code == (200 if expected else 404), (viewer, url)
            assert (photo.title in answer.content.decode()) == expected
        page = client.get(photo_share_path(photo=photo))
        if page.status_code == 200:
            previewed = 'property="og:image"' in page.content.decode()
            # The owner opening the link with its token previews as anyone would; without it, no preview.
            assert previewed == embeddable[by_link], viewer


def album_expected(viewer: str, album_visibility: str, *, with_link: bool) -> bool:
    """Whether `viewer` may open an album of `album_visibility` (by its bare id, or by the link)."""
    if viewer == "owner" or album_visibility == Visibility.PUBLIC:
        return True
    return album_visibility == Visibility.UNLISTED and with_link


@pytest.mark.parametrize("album_visibility", [Visibility.PUBLIC, Visibility.UNLISTED, Visibility.PRIVATE])
@pytest.mark.parametrize("viewer", VIEWERS)
def test_album_visibility_matrix(world, viewer, album_visibility) -> None:
    """An album's own visibility decides who opens it and who sees it listed (profile, API,
    the photo page's "In <album>", stepping from it); inside, each photo still follows its own."""
    users, photos, album = world
    album_update(album=album, title=album.title, description="", visibility=album_visibility)
    cache.clear()  # the photo cards name the album; outside a transaction nothing forgets them on commit
    client, api = client_for(users[viewer]), APIClient()
    if users[viewer] is not None:
        api.force_authenticate(users[viewer])
    link, bare = album_share_path(album=album), reverse("album_detail", args=[album.pk])
    token = link.partition("?k=")[2]
    listed = viewer == "owner" or album_visibility == Visibility.PUBLIC
    for url, with_link in ((bare, False), (link, True)):
        opens = album_expected(viewer, album_visibility, with_link=with_link)
        page = client.get(url)
        assert page.status_code == (200 if opens else 404), (url, page.status_code)
        api_page = api.get(f"/api/v1/albums/{album.pk}/" + (f"?k={token}" if with_link else ""))
        assert api_page.status_code == (200 if opens else 404)
        api_photos = api.get(f"/api/v1/photos/?album={album.pk}" + (f"&k={token}" if with_link else ""))
        assert api_photos.status_code == (200 if opens else 404)
        body = page.content.decode() + api_page.content.decode() + api_photos.content.decode()
        assert ("Matrix album" in body) == opens
        for visibility, photo in photos.items():  # inside, a photo only where it may be seen
            assert (photo.title in body) == (opens and (viewer == "owner" or visibility == Visibility.PUBLIC))
        if not with_link:
            assert token not in body or viewer == "owner"  # only the owner is shown the link
    profile = client.get(reverse("profile", args=["owner"])).content.decode()
    assert ("Matrix album" in profile) == listed
    api_list = api.get("/api/v1/albums/?user=owner").json()
    assert [entry["title"] for entry in api_list] == (["Matrix album"] if listed else [])
    public_photo_page = client.get(reverse("photo_detail", args=[photos[Visibility.PUBLIC].pk]))
    assert ("Matrix album" in public_photo_page.content.decode()) == listed
    # Stepping from an album the viewer may not list shows no neighbours (nor the album's name).
    stepping = client.get(reverse("photo_detail", args=[photos[Visibility.PUBLIC].pk]) + f"?from=album:{album.pk}")
    assert ("Matrix album" in stepping.content.decode()) == listed
    # Only the owner's API answers carry the link.
    shown = api.get(f"/api/v1/albums/{album.pk}/?k={token}")
    if shown.status_code == 200:
        share_url = shown.json()["share_url"]
        expected_link = album_visibility == Visibility.UNLISTED and viewer == "owner"
        assert share_url == (link if expected_link else None)


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize("viewer", VIEWERS)
def test_share_links_show_only_their_own_item_and_nothing_once_revoked_or_expired(world, viewer, warm) -> None:
    """A share link (`/s/<token>/`) shows whoever holds it the photo or album it names, an
    album's photos whatever their own visibility; never another of the owner's things, and
    nothing once revoked or expired, not even from a cache: warm, visitors and the owner
    opened every link while it still worked."""
    users, photos, album = world
    owner, private = users["owner"], photos[Visibility.PRIVATE]
    album_update(album=album, title=album.title, description="", visibility=Visibility.PRIVATE)
    outsider = ready_photo(owner, title="Matrix outsider", visibility=Visibility.PRIVATE)  # in no album
    live = {
        "photo": share_link_create(owner=owner, photo=private),
        "album": share_link_create(owner=owner, album=album),
    }
    ended = [share_link_create(owner=owner, photo=private), share_link_create(owner=owner, album=album)]
    ended += [share_link_create(owner=owner, photo=private, expires_in_days=1)]
    cache.clear()
    if warm:
        for warmer in (client_for(None), client_for(None), client_for(owner)):
            for link in [*live.values(), *ended]:
                warmer.get(f"/s/{link.token}/")
    share_link_revoke(link=ended[0])
    share_link_revoke(link=ended[1])
    ShareLink.objects.filter(pk=ended[2].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = client_for(users[viewer])
    titles = {photo.title for photo in photos.values()} | {outsider.title}

    def shown(url: str, status: int) -> set[str]:
        response = client.get(url)
        assert response.status_code == status, (url, response.status_code)
        assert response.get("X-Page-Cache") is None and response["Cache-Control"] == "private, no-store"
        return {title for title in titles if title in response.content.decode()}

    assert shown(f"/s/{live['photo'].token}/", 200) == {private.title}
    assert shown(f"/s/{live['album'].token}/", 200) == {photo.title for photo in photos.values()}
    for photo in photos.values():
        assert shown(f"/s/{live['album'].token}/{photo.pk}/", 200) == {photo.title}
    for link in ended:
        assert shown(f"/s/{link.token}/", 410) == set()
        assert shown(f"/s/{link.token}/{private.pk}/", 410) == set()
    # A token opens only its own item: not a photo outside the album, nor an album photo by a photo's link.
    assert shown(f"/s/{live['album'].token}/{outsider.pk}/", 404) == set()
    assert shown(f"/s/{live['photo'].token}/{photos[Visibility.PUBLIC].pk}/", 404) == set()
    assert shown(f"/s/{live['photo'].token[:-2]}/", 404) == set()


@pytest.mark.parametrize("turned", [Visibility.PRIVATE, Visibility.UNLISTED])
def test_notifications_about_a_photo_that_turned_non_public_do_not_reveal_it(world, turned) -> None:
    """A stranger mentioned on a public photo is told; once it turns private or unlisted their
    notification says only that something happened on a photo they can no longer see, on the
    page, in the API and in the header's link, while its owner still sees what it was."""
    from apps.photos.services import photo_update
    from apps.social.services import comment_create
    from tests.notifications.jobs import run_queued_notifications

    users, photos, _ = world
    photo = photos[Visibility.PUBLIC]
    comment_create(author=users["follower"], photo=photo, body="Look, @stranger!")
    like_set(user=users["stranger"], photo=photo, liked=True)
    run_queued_notifications()
    stranger_page = client_for(users["stranger"]).get(reverse("notifications")).content.decode()
    assert photo.title in stranger_page  # told while it was public

    photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=turned)
    renditions = [rendition.file.name for rendition in photo.renditions.all()]
    api = APIClient()
    api.force_authenticate(users["stranger"])
    for body in (
        client_for(users["stranger"]).get(reverse("notifications")).content.decode(),
        api.get("/api/v1/notifications/").content.decode(),
    ):
        assert "a photo you can no longer see" in body
        assert photo.title not in body and f"/photos/{photo.pk}/" not in body
        assert not any(name in body for name in renditions)
    owner_page = client_for(users["owner"]).get(reverse("notifications")).content.decode()
    assert photo.title in owner_page  # the owner's own photo, whatever its visibility

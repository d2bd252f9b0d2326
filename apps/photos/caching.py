"""Every cache key photos are kept under, and every way a write forgets them.

Key builders and invalidations live only here, so what a write forgets can be
found with grep. Other apps call the public functions below (an album change
forgets the cards of its photos; a name change forgets its owner's cards).

Listings cached for visitors belong to families ("scopes"): `recent`, `popular`,
`user:<owner id>` and `tag:<name>`, each with its own version (and `album:<id>`, for
album pages kept whole for visitors, photosite/pagecache.py). A write bumps the
scopes of the listings its photo left or entered and nothing else, so at twenty
uploads a second the tag and profile pages nobody uploaded to keep hitting
(docs/SCALING.md, "Cache invalidation").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from django.db import transaction
from django.utils.translation import get_language

from apps.photos.models import Photo, PhotoStatus, Visibility
from photosite import cache

if TYPE_CHECKING:
    from apps.photos.selectors import Listing

T = TypeVar("T")

GRID_TTL = 30  # seconds; writes bump the version, so this only bounds a stale refill
GRID_STALE_TTL = 300
PHOTO_CARD_TTL = 300
POPULAR_SNAPSHOT_TTL = 2 * 60 * 60  # the job runs every ten minutes; two hours of failures fall back to counting
# Bumped only by rare changes that touch every listing (an owner renamed: cards show names).
EVERY_LISTING = "photos"


def grid_key(*, listing: Listing) -> str:
    """A listing's first page as HTML: the same for every viewer, so cached once for all of them.

    Only listings that show public photos alone are cached this way (see Listing.shared),
    and the following feed, once per viewer (Listing.cached_for) under its own versions.
    One copy per language: the cards hold words and month names.
    """
    names, head = _grid_key_parts(listing)
    return f"{head}{cache.versions_get(*names)}"


def _grid_key_parts(listing: Listing) -> tuple[tuple[str, ...], str]:
    """The version families of a listing's grid and its key up to their values."""
    if listing.cached_for is not None:
        viewer_id, scopes = listing.cached_for
        return (EVERY_LISTING, *scopes), f"photos:grid:{listing.name}:{viewer_id}:{get_language()}:html:v"
    return (EVERY_LISTING, listing.scope), f"photos:grid:{listing.name}:{get_language()}:html:v"


def grid_get_or_compute(*, listing: Listing, compute: Callable[[], T]) -> T:
    """The listing's first page under `grid_key`, read through the cache: with Redis, its versions
    and the page in one round trip. privacy=True: it shows photos, so a photo made private must
    leave it at once."""
    names, head = _grid_key_parts(listing)
    return cache.get_or_compute_versioned(
        names, head, "", compute, ttl=GRID_TTL, stale_ttl=GRID_STALE_TTL, privacy=True
    )


def api_page_key(*, listing: Listing, address: str) -> str:
    """A shared listing's first page as the API encodes it, at this address (its query and
    host are in the page's `next` link). Under the listing's version, like its grid."""
    where = hashlib.blake2b(address.encode(), digest_size=16).hexdigest()
    return f"photos:api-page:{listing.name}:{where}:v{cache.versions_get(EVERY_LISTING, listing.scope)}"


def listing_version_read(*, listing: Listing) -> None:
    """Read a listing's version for a page that shows part of it uncached (the photo page's
    previous and next): a page cached whole for visitors (photosite/pagecache.py) is then
    forgotten with the listing."""
    cache.versions_get(EVERY_LISTING, listing.scope)


def person_listings_version_read(*, owner_id: int) -> None:
    """The same for a page showing a person's photos or albums uncached (a profile's albums,
    an album page): read it before the rows, so a change after it is never taken for older."""
    cache.versions_get(EVERY_LISTING, user_scope(owner_id=owner_id))


def album_version_read(*, album_id: int) -> None:
    """The same for one album (its title, visibility and photos), before it is read."""
    cache.versions_get(album_scope(album_id=album_id))


def album_scope(*, album_id: int) -> str:
    return f"album:{album_id}"


def album_changed_on_commit(*, album_id: int, owner_id: int) -> None:
    """An album changed (created, renamed, shown or hidden, its photos or order or cover): its page
    and its owner's profile, which lists it, are kept whole for visitors under these versions."""
    scopes = [album_scope(album_id=album_id), user_scope(owner_id=owner_id)]
    # Purged at the edge too: any of these may hide the album or take a photo out of it.
    transaction.on_commit(lambda: cache.versions_bump(scopes, edge=True))


def profile_count_key(*, owner_id: int) -> str:
    scope = user_scope(owner_id=owner_id)
    return f"photos:profile-count:{owner_id}:v{cache.versions_get(EVERY_LISTING, scope)}"


def timeline_months_key(*, owner_id: int) -> str:
    """A person's timeline years and months with their counts, as visitors see them (with the profile)."""
    scope = user_scope(owner_id=owner_id)
    return f"photos:timeline-months:{owner_id}:v{cache.versions_get(EVERY_LISTING, scope)}"


def tag_count_key(*, name: str) -> str:
    return f"photos:tag-count:{name}:v{cache.versions_get(EVERY_LISTING, tag_scope(name=name))}"


def user_scope(*, owner_id: int) -> str:
    return f"user:{owner_id}"


def tag_scope(*, name: str) -> str:
    return f"tag:{name}"


def photo_card_key(photo_id: int) -> str:
    """The photo page's card: the photo with its owner, renditions, tags and albums."""
    return f"photos:card:{photo_id}"


def listing_scopes_of(photo: Photo) -> set[str]:
    """The cached listing families this photo shows in as it is now (one query for its tags).

    Empty when visitors see it in no listing (private, unlisted, processing, hidden).
    Call it before a change and after it: the union is what the change touched.
    """
    if not (photo.visibility == Visibility.PUBLIC and photo.status == PhotoStatus.READY and photo.hidden_at is None):
        return set()
    scopes = {"recent", user_scope(owner_id=photo.owner_id)}
    scopes.update(tag_scope(name=name) for name in photo.tags.values_list("name", flat=True))
    if photo.likes.exists():  # only liked photos can rank there (like_count is a copy up to a minute old)
        scopes.add("popular")
    return scopes


def photo_changed(*, photo_id: int, scopes: Iterable[str], withdrawn: bool = False) -> None:
    """Forget the photo's card and the listing families it left or entered; `withdrawn` when
    visitors may no longer see what they saw (made private, hidden, deleted, edited by its
    owner), which purges the edge at once (photosite.cache.versions_bump)."""
    cache.delete(photo_card_key(photo_id))
    scopes = set(scopes)
    if scopes:
        cache.versions_bump(scopes, edge=withdrawn)
    elif withdrawn:
        cache.edge_forget()


def photo_changed_on_commit(*, photo_id: int, scopes: Iterable[str], withdrawn: bool = False) -> None:
    # After commit: invalidating earlier would let a concurrent read cache the old rows again.
    scopes = set(scopes)
    transaction.on_commit(lambda: photo_changed(photo_id=photo_id, scopes=scopes, withdrawn=withdrawn))


def visitors_pages_forget_on_commit() -> None:
    """Purge every visitor's page at the edge after commit: a comment removed by its author or a
    moderator, which no listing version names. Once per transaction, however many comments
    go in it (deleting an account removes each of the person's comments)."""
    pending = transaction.get_connection().run_on_commit
    if not any(callback is cache.edge_forget for _, callback, _ in pending):
        transaction.on_commit(cache.edge_forget)


def photo_cards_forget(*, photo_ids: Iterable[int]) -> None:
    """Forget photo pages' cached cards only (their counts, tags or albums changed; no grid shows them)."""
    cache.delete(*(photo_card_key(photo_id) for photo_id in photo_ids))


def photo_cards_forget_on_commit(*, photo_ids: Iterable[int]) -> None:
    photo_ids = list(photo_ids)
    transaction.on_commit(lambda: photo_cards_forget(photo_ids=photo_ids))


def popular_snapshot_key() -> str:
    """When Popular was last materialized (apps/social/services.py, popular_refresh)."""
    return "photos:popular:snapshot"


def popular_snapshot_taken_on_commit(*, taken_at: float) -> None:
    """Popular was rebuilt: its grid changes, and listings may read the new snapshot."""

    def publish() -> None:
        cache.versions_bump(["popular"])
        cache.set_value(popular_snapshot_key(), taken_at, ttl=POPULAR_SNAPSHOT_TTL)

    transaction.on_commit(publish)


def popular_snapshot_taken_at() -> float | None:
    """The time.time() of the last snapshot, None if there is none (no scheduler: embedded
    mode) or it is older than POPULAR_SNAPSHOT_TTL (the scheduler stopped): then Popular
    counts likes itself, slower but never stale for long."""
    value = cache.get_many([popular_snapshot_key()]).get(popular_snapshot_key())
    return float(value) if isinstance(value, (int, float)) else None


def photos_of_owner_forget(*, photo_ids: Iterable[int]) -> None:
    """Forget the cards of one person's photos and every listing (they show the owner's name)."""
    photo_cards_forget(photo_ids=photo_ids)
    cache.versions_bump([EVERY_LISTING], edge=True)  # a deactivation takes them all away

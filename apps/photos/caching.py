"""Every cache key photos are kept under, and every way a write forgets them.

Key builders and invalidations live only here, so what a write forgets can be
found with grep. Other apps call the public functions below (an album change
forgets the cards of its photos; a name change forgets its owner's cards).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from photosite import cache

GRID_TTL = 30  # seconds; writes bump the version, so this only bounds a stale refill
GRID_STALE_TTL = 300
PHOTO_CARD_TTL = 300
PHOTOS_VERSION = "photos"  # the version every grid and count key carries


def grid_key(*, listing: str) -> str:
    """A listing's first page as HTML: the same for every viewer, so cached once for all of them.

    Only listings that show public photos alone are cached this way (see Listing.shared).
    """
    return f"photos:grid:{listing}:html:v{cache.version_get(PHOTOS_VERSION)}"


def profile_count_key(*, owner_id: int) -> str:
    return f"photos:profile-count:{owner_id}:v{cache.version_get(PHOTOS_VERSION)}"


def tag_count_key(*, name: str) -> str:
    return f"photos:tag-count:{name}:v{cache.version_get(PHOTOS_VERSION)}"


def photo_card_key(photo_id: int) -> str:
    """The photo page's card: the photo with its owner, renditions, tags and albums."""
    return f"photos:card:{photo_id}"


def photo_cache_invalidate(*, photo_id: int) -> None:
    """Forget everything cached that shows this photo (its card and every grid)."""
    cache.delete(photo_card_key(photo_id))
    cache.version_bump(PHOTOS_VERSION)


def photo_cache_invalidate_on_commit(*, photo_id: int) -> None:
    # After commit: invalidating earlier would let a concurrent read cache the old rows again.
    transaction.on_commit(lambda: photo_cache_invalidate(photo_id=photo_id))


def photo_cards_forget(*, photo_ids: Iterable[int]) -> None:
    """Forget photo pages' cached cards only (their counts, tags or albums changed; no grid shows them)."""
    cache.delete(*(photo_card_key(photo_id) for photo_id in photo_ids))


def photo_cards_forget_on_commit(*, photo_ids: Iterable[int]) -> None:
    photo_ids = list(photo_ids)
    transaction.on_commit(lambda: photo_cards_forget(photo_ids=photo_ids))


def photos_of_owner_forget(*, photo_ids: Iterable[int]) -> None:
    """Forget the cards of one person's photos and every grid (they show the owner's name)."""
    photo_cards_forget(photo_ids=photo_ids)
    cache.version_bump(PHOTOS_VERSION)

"""Reads for photos. Every function applies the visibility rules; views never filter by hand."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache, partial
from typing import Any, NamedTuple, Protocol
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, TruncMonth
from django.dispatch import receiver
from django.http import Http404
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext, pgettext

from apps.accounts.models import User
from apps.albums.models import Album, AlbumEntry
from apps.photos.caching import (
    GRID_TTL,
    PHOTO_CARD_TTL,
    POPULAR_SNAPSHOT_TTL,
    photo_card_key,
    popular_snapshot_taken_at,
    profile_count_key,
    tag_count_key,
    tag_scope,
    timeline_months_key,
    user_scope,
)
from apps.photos.imaging import PIPELINE_VERSION, renditions_expected
from apps.photos.models import (
    SEARCH_CONFIG,
    TAG_PUBLIC_PHOTOS,
    USER_PUBLIC_PHOTOS,
    USER_READY_PHOTOS,
    Licence,
    Photo,
    PhotoStatus,
    PhotoTag,
    Rendition,
    Tag,
    Visibility,
    stored_name,
)
from apps.photos.tags import TagsRejected, tag_name_check
from apps.social.models import USER_FOLLOWING
from photosite import cache
from photosite.counters import count_scope, counter_totals
from photosite.http import number_from_text
from photosite.models import Counter
from photosite.pagination import (
    BadCursor,
    Page,
    after_filter,
    cursor_decode,
    cursor_encode,
    keyset_page,
    reversed_ordering,
)
from photosite.storage import media_url

POPULAR_DAYS = 7
OWNER_FIELDS_NEVER_ON_CARDS = ("password", "email", "last_login")


class RenditionLike(Protocol):
    """What cards, the photo page and the API read of a rendition: a Rendition or a RenditionRow."""

    @property
    def size(self) -> int: ...
    @property
    def format(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def url(self) -> str: ...


@dataclass(frozen=True, slots=True)
class RenditionRow:
    """A rendition read as plain values, not as a model: a grid page shows 48 photos with about
    seven renditions each, and building those 300-odd Rendition instances (their FileFields,
    datetimes and the prefetch machinery around them) was a third of a cold render
    (bench/cache.py --profile, docs/PERFORMANCE.md)."""

    size: int
    format: str
    width: int
    height: int
    bytes: int
    key: str

    @property
    def url(self) -> str:
        """Plain for public keys (CDN-cacheable), signed for private ones, as Rendition.url."""
        return media_url(self.key)


def renditions_of(photo: Photo | CardRow) -> Sequence[RenditionLike]:
    """A photo's renditions, smallest first: a grid's CardRow's, the rows read with its listing
    page or card (rendition_rows_attach), else its prefetched (or queried) Rendition rows."""
    if isinstance(photo, CardRow):
        return [RenditionRow(*values) for values in photo.renditions]
    rows: list[RenditionRow] | None = getattr(photo, "rendition_rows", None)
    if rows is not None:
        return rows
    return sorted(photo.renditions.all(), key=lambda rendition: rendition.size)


RENDITION_FIELDS = ("size", "format", "width", "height", "bytes", "file")  # RenditionRow's, in order


def _rendition_values_of(photo_ids: list[int]) -> dict[int, list[CardRendition]]:
    """The renditions of these photos in one query, as RenditionRow's values, smallest first."""
    by_photo: dict[int, list[CardRendition]] = {photo_id: [] for photo_id in photo_ids}
    if by_photo:
        found = Rendition.objects.filter(photo_id__in=photo_ids).order_by("photo_id", "size", "id")
        for photo_id, *values in found.values_list("photo_id", *RENDITION_FIELDS):
            by_photo[photo_id].append(tuple(values))  # the six values, in order
    return by_photo


def _rendition_rows_of(photo_ids: list[int]) -> dict[int, list[RenditionRow]]:
    """The renditions of these photos in one query, as RenditionRows, smallest first."""
    return {
        photo_id: [RenditionRow(*values) for values in found]
        for photo_id, found in _rendition_values_of(photo_ids).items()
    }


# _RenditionsInRow's separators: control characters, in none of our keys (all plain names).
_FIELD_SEPARATOR, _RENDITION_SEPARATOR = "\x1f", "\x1e"


class _RenditionsInRow(RawSQL):
    """A photo's renditions as one text in the photo's own row (PostgreSQL): a grid page's
    cards in one query instead of two, without the ORM building a second query and its 300-odd
    rows. Each rendition's RENDITION_FIELDS joined by _FIELD_SEPARATOR, smallest first, joined
    by _RENDITION_SEPARATOR (_renditions_from_text). Plain text, not json_agg: for 48 photos
    json_agg cost PostgreSQL 1.7-1.8 ms of CPU and psycopg 1.2-1.4 ms to parse, this 1.0-1.2
    and 0.3-0.5 (two queries: 0.9-1.1, and 0.7-1.0 before the ORM's own work)."""

    def __init__(self) -> None:
        columns = _columns(Rendition)
        fields = ", ".join(f'r."{columns[name]}"' for name in RENDITION_FIELDS)
        super().__init__(
            f'SELECT string_agg(concat_ws(chr(31), {fields}), chr(30) ORDER BY r."size", r."id") '  # noqa: S608
            f'FROM "{Rendition._meta.db_table}" r WHERE r."photo_id" = "{Photo._meta.db_table}"."id"',
            (),
        )

    def get_group_by_cols(self) -> list[Any]:
        # It depends on the photo's id alone (grouped already where a listing counts).
        return []


def _renditions_from_text(text: str | None) -> list[CardRendition] | None:
    """_RenditionsInRow's text as RenditionRow's values; None if a key held a separator."""
    if not text:
        return []
    renditions: list[CardRendition] = []
    for rendition in text.split(_RENDITION_SEPARATOR):
        fields = rendition.split(_FIELD_SEPARATOR)
        if len(fields) != len(RENDITION_FIELDS):
            return None
        size, fmt, width, height, size_in_bytes, key = fields
        renditions.append((int(size), fmt, int(width), int(height), int(size_in_bytes), key))
    return renditions


def rendition_rows_attach(photos: Sequence[Photo]) -> None:
    """Read the renditions of these photos in one query, as RenditionRows (renditions_of)."""
    by_photo = _rendition_rows_of([photo.pk for photo in photos])
    for photo in photos:
        photo.rendition_rows = by_photo[photo.pk]  # type: ignore[attr-defined]  # read by renditions_of


@dataclass(frozen=True, slots=True)
class CardRow:
    """What a grid card shows of a photo, read as plain values: a cold grid page built 48
    Photo and 48 User instances (40-odd columns each, their datetimes and descriptors) for
    the eight values a card shows, two thirds of its fetch (bench/pages.py --profile)."""

    pk: int
    title: str
    alt_text: str
    placeholder_color: str
    original_width: int
    original_height: int
    visibility: str
    hidden_at: datetime | None
    owner: CardOwner
    # Smallest first, each RenditionRow's values as read (no instances: 300-odd a page).
    renditions: Sequence[CardRendition]


# A rendition as a card reads it: RenditionRow's values (size, format, width, height, bytes, key).
CardRendition = tuple[int, str, int, int, int, str]


class CardOwner(NamedTuple):
    shown_name: str  # User.shown_name: the display name, else the username


# Column by column, what CardRow holds (before its renditions), then the owner's two names.
CARD_COLUMNS = (
    "id",
    "title",
    "alt_text",
    "placeholder_color",
    "original_width",
    "original_height",
    "visibility",
    "hidden_at",
    "owner__display_name",
    "owner__username",
)


@dataclass(frozen=True)
class CardPage:
    items: list[CardRow]
    next_cursor: str | None  # None on the last page


def photos_with_card_data(photos: QuerySet[Photo]) -> QuerySet[Photo]:
    """What a grid card shows: the owner and the renditions, in two queries for any number of photos.

    The owner's password hash and email are never loaded: cards are cached (pickled
    into Redis), and nothing a card shows needs them.
    """
    return _with_owner(photos).prefetch_related(Prefetch("renditions", queryset=Rendition.objects.order_by("size")))


def _with_owner(photos: QuerySet[Photo]) -> QuerySet[Photo]:
    return photos.select_related("owner").defer(*(f"owner__{field}" for field in OWNER_FIELDS_NEVER_ON_CARDS))


def _with_page_extras(photos: QuerySet[Photo]) -> QuerySet[Photo]:
    """What the photo page shows besides the image: its tags (and the albums it is in, _photo_card).

    Part of the cached card, so album and tag changes forget the card (caching.photo_cards_forget).
    """
    return photos.prefetch_related("tags")


@dataclass(frozen=True, slots=True)
class AlbumLink:
    """An album a photo is in, as its page links it: read with the card as plain values (the
    prefetch of entries and their albums, two sets of model instances, cost more than the query)."""

    pk: int
    title: str
    visibility: str


def photo_albums_of(photo: Photo) -> list[AlbumLink]:
    """The albums the photo is in, by title: those read with its card (_photo_card), else its entries."""
    links: list[AlbumLink] | None = getattr(photo, "album_links", None)
    if links is None:  # a card kept before album_links were: its prefetched entries
        entries = sorted(photo.album_entries.all(), key=lambda entry: entry.album.title)
        links = [AlbumLink(entry.album.pk, entry.album.title, entry.album.visibility) for entry in entries]
    return links


def _public(photos: QuerySet[Photo]) -> QuerySet[Photo]:
    """What anyone may see in a listing: public, ready, not hidden by a moderator, and its
    owner not deactivated (a deactivated person's photos leave every listing and search)."""
    return photos.filter(
        visibility=Visibility.PUBLIC, status=PhotoStatus.READY, hidden_at__isnull=True, owner__is_active=True
    )


@lru_cache(maxsize=1)
def _public_photos() -> QuerySet[Photo]:
    """`_public(Photo.objects.all())`, built once per process: resolving its four lookups and
    the owner join was a third of a warm signed-in home page's listing work. Never evaluated
    itself: callers take a fresh clone (`.all()`), which has its own result cache."""
    return _public(Photo.objects.all())


def _owned_for_viewer(photos: QuerySet[Photo], *, owner_id: int, viewer: User | AnonymousUser) -> QuerySet[Photo]:
    """One person's photos: all their ready ones for themselves, the public ones for everyone else."""
    photos = photos.filter(owner_id=owner_id)
    if viewer.is_authenticated and viewer.pk == owner_id:
        return photos.filter(status=PhotoStatus.READY)
    return _public(photos)


@dataclass(frozen=True)
class Listing:
    """A named, ordered list of photos as one viewer may see it.

    Grids page through it, and the photo page steps to the previous and next photo in
    it (`?from=<name>`), so both always agree on what is in it and in what order.
    """

    name: str  # "recent", "popular", "feed", "tag:<name>", "user:<username>", "album:<id>", "search:<q>"
    title: str
    # Builds the photos in it: called at most once, and only when a page or a neighbour is read
    # from the database (`queryset`); a first page kept in the cache never builds it, and building
    # a feed's filter took a fifth of a signed-in feed's time.
    query: Callable[[], QuerySet[Photo]]
    ordering: tuple[str, ...]  # ends in a unique field, so keyset pagination is exact
    url: str
    empty: str
    shared: bool = False  # public photos only, nothing about the viewer: one cached first page for all
    scope: str = ""  # the cache family its shared first page belongs to (caching.listing_scopes_of)
    # A first page kept for one viewer alone (the following feed): their id and the version
    # families it is kept under (caching.grid_key). Never shared, never kept whole for visitors.
    cached_for: tuple[int, tuple[str, ...]] | None = None
    # A cheaper query for one page: given where the page starts (the cursor's values, or
    # None) and its size, the rows it may hold. The following feed bounds its read per followee.
    page_queryset: Callable[[list[Any] | None, int], QuerySet[Photo]] | None = None

    @cached_property
    def queryset(self) -> QuerySet[Photo]:
        """The photos in it, as this viewer may see them, unordered."""
        return self.query()

    def page(self, *, cursor: str | None, limit: int | None = None, with_tags: bool = False) -> Page[Photo]:
        """One page of cards; `with_tags` also prefetches the tags (the API shows them, grids do not)."""
        limit = limit or settings.PHOTOS_PAGE_SIZE
        queryset = self.queryset
        if self.page_queryset is not None:
            start = cursor_decode(cursor, length=len(self.ordering)) if cursor else None
            queryset = self.page_queryset(start, limit + 1)
        photos = _with_owner(queryset)
        if with_tags:
            photos = photos.prefetch_related("tags")
        page = keyset_page(photos, ordering=self.ordering, cursor=cursor, limit=limit)
        rendition_rows_attach(page.items)
        return page

    def card_page(self, *, cursor: str | None, limit: int | None = None) -> CardPage:
        """One page of grid cards as CardRows: the same photos, order and cursors as `page`,
        in one query on PostgreSQL (the photos' card columns with their owners' names and
        their renditions), two elsewhere."""
        limit = limit or settings.PHOTOS_PAGE_SIZE
        start = cursor_decode(cursor, length=len(self.ordering)) if cursor else None
        queryset = self.queryset if self.page_queryset is None else self.page_queryset(start, limit + 1)
        if start is not None:
            try:
                # A well-formed cursor can still hold a value of the wrong kind for its field.
                queryset = queryset.filter(after_filter(self.ordering, start))
            except (ValidationError, ValueError, TypeError, OverflowError):
                raise BadCursor(BadCursor.message) from None
        ordered_by = [order.lstrip("-") for order in self.ordering]
        columns = [*CARD_COLUMNS, *(field for field in ordered_by if field not in CARD_COLUMNS)]
        positions = [columns.index(field) for field in ordered_by]
        # PostgreSQL reads each photo's renditions in its row (_RenditionsInRow); elsewhere
        # (embedded mode's SQLite) they are a second query.
        in_row = connection.vendor == "postgresql"
        if in_row:
            queryset = queryset.annotate(card_renditions=_RenditionsInRow())
            columns.append("card_renditions")
        # One row more than shown tells whether a next page exists without a COUNT.
        rows = list(queryset.order_by(*self.ordering).values_list(*columns)[: limit + 1])
        next_cursor = cursor_encode([rows[limit - 1][at] for at in positions]) if len(rows) > limit else None
        rows = rows[:limit]
        read = {row[0]: _renditions_from_text(row[-1]) for row in rows} if in_row else {}
        renditions = {pk: found for pk, found in read.items() if found is not None}
        if len(renditions) != len(rows):  # not in the row, or a key we could not split: a second query
            renditions = _rendition_values_of([row[0] for row in rows])
        items = []
        for pk, title, alt_text, colour, width, height, visibility, hidden_at, display_name, username, *_ in rows:
            owner = CardOwner(display_name or username)
            row = CardRow(pk, title, alt_text, colour, width, height, visibility, hidden_at, owner, renditions[pk])
            items.append(row)
        return CardPage(items=items, next_cursor=next_cursor)

    def neighbours(self, photo: Photo) -> tuple[int | None, int | None]:
        """The ids before and after `photo` in this listing, or None at either end (or if it is not in it)."""
        fields = [order.lstrip("-") for order in self.ordering]
        if all(hasattr(photo, field) for field in fields):
            values = [getattr(photo, field) for field in fields]  # ordered by the photo's own columns
        else:  # by an annotation (likes this week, album position): ask the listing itself
            row = self.queryset.filter(pk=photo.pk).values_list(*fields).first()
            if row is None:
                return None, None
            values = list(row)
        ids = self.queryset.values_list("pk", flat=True)
        previous = ids.filter(after_filter(self.ordering, values, reverse=True))
        following = ids.filter(after_filter(self.ordering, values))
        return (
            previous.order_by(*reversed_ordering(self.ordering)).first(),
            following.order_by(*self.ordering).first(),
        )


RECENT = ("-created_at", "-id")


@lru_cache(maxsize=64)
def _cached_address(name: str, prefix: str) -> str:
    return reverse(name)


def _address_of(name: str) -> str:
    """reverse(name) for a page without arguments, once per process and script prefix (reversing
    one walks the URLconf: ~15 us, on every listing page)."""
    return _cached_address(name, get_script_prefix())


@receiver(setting_changed)
def _urlconf_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":  # tests that swap the URLconf, as Django clears its own caches
        _cached_address.cache_clear()


def listing_recent() -> Listing:
    return Listing(
        name="recent",
        title=gettext("Latest photos"),
        query=lambda: _public_photos().all(),
        ordering=RECENT,
        url=_address_of("home"),
        empty=gettext("No photos yet."),
        shared=True,
        scope="recent",
    )


def listing_popular(*, now: datetime | None = None) -> Listing:
    """Public photos by likes in the last seven days.

    Read from the ranking popular_refresh materializes every ten minutes (one index scan
    of a table of at most a thousand rows). Without a recent one (embedded mode has no
    scheduler; a stopped scheduler) it counts the week's likes itself, as it always did:
    the window starts on the hour so cursors stay valid.
    """
    if _popular_snapshot_is_fresh():
        photos = _public(Photo.objects.filter(popularity__isnull=False)).annotate(recent_likes=F("popularity__likes"))
    else:
        since = (now or timezone.now()).replace(minute=0, second=0, microsecond=0) - timedelta(days=POPULAR_DAYS)
        photos = _public(Photo.objects.all()).annotate(
            recent_likes=Count("likes", filter=Q(likes__created_at__gte=since, likes__user__is_active=True))
        )
    return Listing(
        name="popular",
        title=gettext("Popular this week"),
        query=lambda: photos.filter(recent_likes__gt=0),
        ordering=("-recent_likes", "-id"),
        url=_address_of("explore"),
        empty=gettext("Nothing has been liked this week yet."),
        shared=True,
        scope="popular",
    )


def _popular_snapshot_is_fresh() -> bool:
    """Whether popular_refresh ran lately: its marker in the cache, else its rows (cache off or flushed)."""
    if popular_snapshot_taken_at() is not None:
        return True
    since = timezone.now() - timedelta(seconds=POPULAR_SNAPSHOT_TTL)
    return Photo.objects.filter(popularity__computed_at__gte=since).exists()


def listing_feed(*, viewer: User | AnonymousUser) -> Listing:
    """Public photos of the people the viewer follows, newest first (read-time fan-in).

    On PostgreSQL a page is read per followee with LATERAL ... LIMIT on the owner index
    (_feed_page), so someone following 5,000 people costs 5,000 one-row index probes and
    a page per top followee, not a sort of every photo those people ever posted
    (bench/growth.py); for someone following more than FEED_WALK_MIN_FOLLOWS people, a
    bounded walk of the newest public photos usually finds the page before any probe.
    """
    page_queryset = None
    cached_for = None
    if viewer.is_authenticated:
        if connection.vendor == "postgresql":
            follows_many = getattr(viewer, "following_count", 0) >= FEED_WALK_MIN_FOLLOWS  # a copy, may lag
            page_queryset = partial(_feed_page, follower_id=viewer.pk, follows_many=follows_many)
        # Its first page changes only when a public photo does (every such write bumps
        # `recent`; an owner renamed or deactivated bumps every listing) or when the viewer
        # follows or unfollows someone (their following count's version, bumped on commit).
        cached_for = (viewer.pk, ("recent", count_scope(USER_FOLLOWING, viewer.pk)))
    return Listing(
        name="feed",
        title=pgettext("people one follows", "Following"),
        query=partial(_followed_photos, viewer),
        ordering=RECENT,
        url=_address_of("feed"),
        empty=gettext("Nothing here yet. Follow people whose photos you like and their new photos appear here."),
        page_queryset=page_queryset,
        cached_for=cached_for,
    )


def _followed_photos(viewer: User | AnonymousUser) -> QuerySet[Photo]:
    if not viewer.is_authenticated:
        return Photo.objects.none()
    return _public(Photo.objects.filter(owner__follower_set__follower=viewer))


# Past this many follows, a feed page first walks the newest public photos for ones by
# followees (FEED_WALK of them at most) before probing every followee: for someone who
# follows thousands, one photo in a few dozen is theirs to see, and the walk finds a page in
# about size / that share rows, where the probes cost one per followee (bench/growth.py).
FEED_WALK_MIN_FOLLOWS = 500
FEED_WALK = 5000


def _feed_page(start: list[Any] | None, size: int, *, follower_id: int, follows_many: bool) -> QuerySet[Photo]:
    """The photos one feed page can hold, read in two bounded steps.

    The newest `size` photos after `start` come from at most `size` people: each of them
    has a photo at least that new, and there are only `size` such photos. So: first each
    followee's one newest public photo after `start` (one short probe of the owner index
    per followee), keep the `size` followees whose newest is newest; then those people's
    newest `size` photos. At most follows + size x size rows, however much each has posted.
    Only the page's `size` ids leave the subquery, so PostgreSQL fetches those photos by
    primary key instead of walking the home index in search of them.

    `follows_many`: first walk the newest FEED_WALK public photos after `start` keeping the
    followees' ones. Finding `size` there, those are the page (the walk read every public
    photo newer than them), and the probes above never run (a one-time filter); finding
    fewer, the probes run as before and the walk only added its rows to the candidates.
    The walk asks about each photo's owner in turn (a LATERAL ... LIMIT 1, which PostgreSQL
    cannot turn into a join), so it stops at the page's last photo: joined, PostgreSQL
    hashed the follows and read all FEED_WALK photos before sorting (at 1M photos, 5,000
    rows for a page found in the first 1,101; bench/growth.py).
    """
    after, params = "", []
    if start is not None:
        created_at, photo_id = start
        if not isinstance(photo_id, int) or not isinstance(created_at, datetime):
            raise BadCursor(BadCursor.message)
        after, params = "AND (p.created_at, p.id) < (%s, %s)", [created_at, photo_id]
    public = "p.visibility = %s AND p.status = %s AND p.hidden_at IS NULL"
    public_params = [Visibility.PUBLIC, PhotoStatus.READY]
    fan_in = f"""SELECT newest.id FROM (
                SELECT f.followee_id FROM social_follow f
                JOIN accounts_user u ON u.id = f.followee_id AND u.is_active
                CROSS JOIN LATERAL (
                    SELECT p.created_at, p.id FROM photos_photo p
                    WHERE p.owner_id = f.followee_id AND {public} {after}
                    ORDER BY p.created_at DESC, p.id DESC LIMIT 1
                ) latest
                WHERE f.follower_id = %s
                ORDER BY latest.created_at DESC, latest.id DESC LIMIT %s
            ) top_followees CROSS JOIN LATERAL (
                SELECT p.created_at, p.id FROM photos_photo p
                WHERE p.owner_id = top_followees.followee_id AND {public} {after}
                ORDER BY p.created_at DESC, p.id DESC LIMIT %s
            ) newest
            ORDER BY newest.created_at DESC, newest.id DESC LIMIT %s"""  # noqa: S608
    fan_in_params = [*public_params, *params, follower_id, size, *public_params, *params, size, size]
    if not follows_many:
        candidates = RawSQL(fan_in, fan_in_params)  # noqa: S611 (parameters only; `after` is one of two literals)
        return _public(Photo.objects.filter(pk__in=candidates))
    candidates = RawSQL(  # noqa: S611 (parameters only; `after` is one of two literals)
        f"""WITH walk AS MATERIALIZED (
                SELECT recent.id FROM (
                    SELECT p.id, p.owner_id, p.created_at FROM photos_photo p
                    WHERE {public} {after}
                    ORDER BY p.created_at DESC, p.id DESC LIMIT %s
                ) recent
                CROSS JOIN LATERAL (
                    SELECT 1 FROM social_follow f JOIN accounts_user u ON u.id = f.followee_id AND u.is_active
                    WHERE f.followee_id = recent.owner_id AND f.follower_id = %s LIMIT 1
                ) followed
                ORDER BY recent.created_at DESC, recent.id DESC LIMIT %s
            )
            SELECT id FROM walk
            UNION ALL
            SELECT id FROM ({fan_in}) fan_in WHERE (SELECT count(*) FROM walk) < %s""",  # noqa: S608
        [*public_params, *params, FEED_WALK, follower_id, size, *fan_in_params, size],
    )
    return _public(Photo.objects.filter(pk__in=candidates))


def listing_tag(*, name: str) -> Listing:
    """Public photos with this tag; TagsRejected for a name no tag can have."""
    tag_name_check(name)
    # Ordered by the photo-tag row itself (the photo's upload time copied onto it, then
    # the row's id): PostgreSQL reads tag_page_idx in order and stops after one page,
    # however rare or common the tag. Ordering by the photo's own created_at made it
    # walk every newer photo looking for this tag (bench/growth.py).
    tag_id = Subquery(Tag.objects.filter(name=name).values("pk")[:1])
    photos = _public(Photo.objects.filter(phototag__tag_id=tag_id)).annotate(
        tagged_at=F("phototag__photo_created_at"), tag_row=F("phototag__id")
    )
    return Listing(
        name=f"tag:{name}",
        title=f"#{name}",
        query=lambda: photos,
        ordering=("-tagged_at", "-tag_row"),
        url=reverse("tag", args=[name]),
        empty=gettext("No public photos have this tag yet."),
        shared=True,
        scope=tag_scope(name=name),
    )


def listing_user(*, owner: User, viewer: User | AnonymousUser) -> Listing:
    is_owner = viewer.is_authenticated and viewer.pk == owner.pk
    return Listing(
        name=f"user:{owner.username}",
        title=owner.shown_name,
        query=partial(_owned_for_viewer, Photo.objects.all(), owner_id=owner.pk, viewer=viewer),
        ordering=RECENT,
        url=reverse("profile", args=[owner.username]),
        empty=gettext("You have not uploaded any photos yet.") if is_owner else gettext("No public photos yet."),
        shared=not is_owner,
        scope=user_scope(owner_id=owner.pk),
    )


def listing_album(*, album: Album, viewer: User | AnonymousUser, share_token: str = "") -> Listing:
    """An album's photos the viewer may see, in the album's order. `share_token`: the unlisted
    album's link token the page was opened with (already checked), kept on its next pages' links."""
    photos = _owned_for_viewer(
        Photo.objects.filter(album_entries__album=album), owner_id=album.owner_id, viewer=viewer
    ).annotate(position=F("album_entries__position"))
    return Listing(
        name=f"album:{album.pk}",
        title=album.title,
        query=lambda: photos,
        ordering=("position", "id"),
        url=reverse("album_detail", args=[album.pk]) + (f"?{urlencode({'k': share_token})}" if share_token else ""),
        empty=gettext("This album is empty."),
    )


class SearchFiltersRejected(ValueError):
    """A search filter that cannot mean anything (a date that is not one); the message says why."""


@dataclass(frozen=True)
class SearchFilters:
    """What a search narrows its photos to besides its words."""

    camera: str = ""  # "make model" as the photo page shows it, any case
    lens: str = ""
    tag: str = ""
    licence: str = ""  # one of Licence's values
    date_from: date | None = None  # by the photo's timeline date (taken, else uploaded), inclusive
    date_to: date | None = None

    def as_params(self) -> dict[str, str]:
        """The query parameters that give these filters back (only the ones set)."""
        params = {"camera": self.camera, "lens": self.lens, "tag": self.tag, "licence": self.licence}
        params["date_from"] = self.date_from.isoformat() if self.date_from else ""
        params["date_to"] = self.date_to.isoformat() if self.date_to else ""
        return {name: value for name, value in params.items() if value}

    def __bool__(self) -> bool:
        return bool(self.as_params())


SEARCH_FILTER_NAMES = ("camera", "lens", "tag", "licence", "date_from", "date_to")


def search_filters_from(params: Mapping[str, str]) -> SearchFilters:
    """The filters in a search's query parameters; SearchFiltersRejected for a bad date or tag."""

    def day(name: str) -> date | None:
        text = str(params.get(name, "")).strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise SearchFiltersRejected(f"{name}: give a date as YYYY-MM-DD.") from None

    tag = str(params.get("tag", "")).strip().lstrip("#").lower()
    if tag:
        try:
            tag_name_check(tag)
        except TagsRejected as rejection:
            raise SearchFiltersRejected(f"tag: {rejection}") from None
    licence = str(params.get("licence", "")).strip()
    if licence and licence not in Licence.values:
        raise SearchFiltersRejected(f"licence: choose one of {', '.join(Licence.values)}.")
    filters = SearchFilters(
        camera=str(params.get("camera", "")).strip()[:201],
        lens=str(params.get("lens", "")).strip()[:100],
        tag=tag,
        licence=licence,
        date_from=day("date_from"),
        date_to=day("date_to"),
    )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise SearchFiltersRejected("date_from: the range starts after it ends.")
    return filters


def _searchable_for(photos: QuerySet[Photo], viewer: User | AnonymousUser) -> QuerySet[Photo]:
    """What a search may find: public photos, and the viewer's own ready ones whatever their visibility."""
    if not viewer.is_authenticated:
        return _public(photos)
    public = Q(visibility=Visibility.PUBLIC, status=PhotoStatus.READY, hidden_at__isnull=True, owner__is_active=True)
    return photos.filter(public | Q(owner_id=viewer.pk, status=PhotoStatus.READY))


def _filtered(photos: QuerySet[Photo], filters: SearchFilters) -> QuerySet[Photo]:
    # Camera and lens only where the owner shows the camera facts: a filter must not reveal them.
    # `exclude(...="")` says what the partial indexes cover, so PostgreSQL knows it may use them.
    if filters.camera:
        photos = photos.filter(camera__iexact=filters.camera, show_camera_facts=True).exclude(camera="")
    if filters.lens:
        photos = photos.filter(lens__iexact=filters.lens, show_camera_facts=True).exclude(lens="")
    if filters.date_from:
        photos = photos.filter(timeline_at__gte=datetime.combine(filters.date_from, time.min, tzinfo=UTC))
    if filters.date_to:
        photos = photos.filter(
            timeline_at__lt=datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=UTC)
        )
    if filters.tag:
        photos = photos.filter(Exists(PhotoTag.objects.filter(photo=OuterRef("pk"), tag__name=filters.tag)))
    if filters.licence:
        photos = photos.filter(licence=filters.licence)
    return photos


def listing_search(
    *, query: str, viewer: User | AnonymousUser | None = None, filters: SearchFilters | None = None
) -> Listing:
    """Photos matching `query` in title, tags, owner's names or caption, narrowed by `filters`:
    public ones, and the viewer's own private and unlisted ones (never anyone else's).

    PostgreSQL ranks with full-text search (stemmed, weighted: title > tags and names
    > caption); embedded mode (SQLite) falls back to every word appearing somewhere.
    `#sunset` searches for `sunset`, as a tag is a word. Filters alone list their photos
    newest taken first.
    """
    filters = filters or SearchFilters()
    photos = _filtered(_searchable_for(Photo.objects.all(), viewer or AnonymousUser()), filters)
    words = [word.lstrip("#") for word in query.split() if word.lstrip("#")]
    if not words and filters:
        ordering: tuple[str, ...] = ("-timeline_at", "-id")
    elif not words:
        photos, ordering = photos.none(), RECENT
    elif connection.vendor == "postgresql":
        ts_query = SearchQuery(" ".join(words), search_type="websearch", config=SEARCH_CONFIG)
        photos = Photo.objects.filter(pk__in=_search_candidates(photos, ts_query)).annotate(
            rank=SearchRank(F("search_vector"), ts_query)
        )
        ordering = ("-rank", "-id")
    else:
        for word in words[:8]:
            photos = photos.filter(
                Q(title__icontains=word)
                | Q(caption__icontains=word)
                | Q(owner__username__icontains=word)
                | Q(owner__display_name__icontains=word)
                | Exists(Tag.objects.filter(photos=OuterRef("pk"), name__contains=word.lower()))
            )
        ordering = RECENT
    params = {"q": query, **filters.as_params()} if query else filters.as_params()
    return Listing(
        # A filtered search's name is its query string, so a photo page opened from it steps through it.
        name=f"search?{urlencode(params)}" if filters else f"search:{query}",
        title=gettext("Photos matching “%(query)s”") % {"query": query} if query else gettext("Photos"),
        query=lambda: photos,
        ordering=ordering,
        url=f"{reverse('search')}?{urlencode(params)}",
        empty=gettext("No photos match. Try fewer or different words, or fewer filters."),
    )


SEARCH_MAX_LENGTH = 200
# The newest matches a search ranks: five pages of results. Finding them walks the newest
# photos until this many match, so the walk (and the ranking) costs about this many rows
# over how common the words are, at any table size; 1,000 made a common word's search cost
# eight times a small site's, where fewer than that many photos match (bench/growth.py).
SEARCH_CANDIDATES = 240


def _search_candidates(photos: QuerySet[Photo], ts_query: SearchQuery) -> RawSQL:
    """The ids of the newest SEARCH_CANDIDATES of `photos` that match `ts_query`, in one statement.

    Rank the newest matches, not every match: a common word matches a seventh of all
    photos, and ranking them all grew with the table (bench/growth.py). The newest ones of
    a common word are found by walking the id index backwards until enough match; a rare
    word would walk the whole table that way (12 s at 1M photos for a word no photo has).
    PostgreSQL cannot tell the two apart: every word outside its most-common list is
    costed at 0.5% of the table, so at 1M photos it chose either that walk or a parallel
    GIN scan whose two workers took 25-35 ms to start for nothing (bench/growth.py).

    So first up to SEARCH_CANDIDATES + 1 matches in any order (`few`, from the GIN index:
    a LIMIT without an ORDER BY, which the planner costs small and reads serially). Fewer
    than that: they are all the matches there are, and the searchable ones among them are
    the answer, fetched by primary key. Otherwise the word is common and the walk finds
    the newest ones soon; it only runs then (a one-time filter). Any photo's id may be in
    `few`: only the ones in `photos` (what this viewer may find) leave this statement.
    """
    limit = SEARCH_CANDIDATES
    few_sql, few_params = _compiled_sql(
        Photo.objects.filter(search_vector=ts_query).order_by().values("pk")[: limit + 1]
    )
    rare_sql, rare_params = _compiled_sql(photos.filter(pk__in=RawSQL("SELECT * FROM few", [])).order_by().values("pk"))
    newest_sql, newest_params = _compiled_sql(
        photos.filter(search_vector=ts_query).order_by("-id").values("pk")[:limit]
    )
    return RawSQL(  # noqa: S611 (parameters only: the three parts are our own querysets, compiled)
        f"""WITH few AS MATERIALIZED ({few_sql})
            SELECT * FROM ({rare_sql}) rare WHERE (SELECT count(*) FROM few) <= %s
            UNION ALL
            SELECT * FROM ({newest_sql}) newest WHERE (SELECT count(*) FROM few) > %s""",  # noqa: S608
        [*few_params, *rare_params, limit, *newest_params, limit],
    )


def _compiled_sql(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


TIMELINE = ("-timeline_at", "-id")


def month_from_text(text: str) -> date | None:
    """The first day of a `YYYY-MM` month, or None if the text is not one."""
    try:
        return date.fromisoformat(f"{text}-01") if len(text) == 7 else None
    except ValueError:
        return None


def listing_timeline(*, owner: User, viewer: User | AnonymousUser, month: date | None = None) -> Listing:
    """One person's photos by the date they were taken (else uploaded), newest first; from
    the end of `month` back when given (the timeline's month jumps). Visitors see the public
    ones, the owner all their own."""
    is_owner = viewer.is_authenticated and viewer.pk == owner.pk
    photos = _owned_for_viewer(Photo.objects.all(), owner_id=owner.pk, viewer=viewer)
    url = reverse("timeline", args=[owner.username])
    if month is not None:
        next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        photos = photos.filter(timeline_at__lt=datetime.combine(next_month, time.min, tzinfo=UTC))
        url = f"{url}?{urlencode({'month': month.strftime('%Y-%m')})}"
    return Listing(
        name=f"timeline:{owner.username}",
        title=gettext("%(name)s: timeline") % {"name": owner.shown_name},
        query=lambda: photos,
        ordering=TIMELINE,
        url=url,
        empty=gettext("You have not uploaded any photos yet.") if is_owner else gettext("No public photos yet."),
        # The whole timeline's first page is cached for visitors with the profile; a jump is not.
        shared=not is_owner and month is None,
        scope=user_scope(owner_id=owner.pk),
    )


@dataclass(frozen=True)
class TimelineYear:
    year: int
    count: int
    months: list[tuple[date, int]]  # (first day of the month, photos), newest first


def timeline_months(*, owner: User, viewer: User | AnonymousUser) -> list[TimelineYear]:
    """The years and months of a person's timeline with how many photos each holds, newest
    first: one grouped read of their photos' timeline index, cached for visitors with the profile."""

    def count() -> list[TimelineYear]:
        photos = _owned_for_viewer(Photo.objects.all(), owner_id=owner.pk, viewer=viewer)
        rows = (
            photos.annotate(month=TruncMonth("timeline_at", tzinfo=UTC))
            .values("month")
            .annotate(photos=Count("id"))
            .order_by("-month")
        )
        years: dict[int, list[tuple[date, int]]] = {}
        for row in rows:
            month = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
            years.setdefault(month.year, []).append((month, row["photos"]))
        return [TimelineYear(year, sum(n for _, n in months), months) for year, months in years.items()]

    if viewer.is_authenticated and viewer.pk == owner.pk:
        return count()
    return cache.get_or_compute(timeline_months_key(owner_id=owner.pk), count, ttl=GRID_TTL, privacy=True)


def listing_liked(*, viewer: User | AnonymousUser) -> Listing:
    """The photos the viewer liked, newest like first: ones anyone may see, and their own.

    A liked photo that became private (or hidden, or its owner left) drops out; read through
    the likes' (user, time) index, so a page costs one range scan however much was liked.
    """
    photos = Photo.objects.none()
    if viewer.is_authenticated:
        liked = Photo.objects.filter(likes__user_id=viewer.pk)
        public = Q(
            visibility=Visibility.PUBLIC, status=PhotoStatus.READY, hidden_at__isnull=True, owner__is_active=True
        )
        photos = liked.filter(public | Q(owner_id=viewer.pk, status=PhotoStatus.READY)).annotate(
            liked_at=F("likes__created_at"), like_row=F("likes__id")
        )
    return Listing(
        name="liked",
        title=pgettext("photos one liked", "Liked"),
        query=lambda: photos,
        ordering=("-liked_at", "-like_row"),
        url=_address_of("liked"),
        empty=gettext("You have not liked any photos yet. Tap the heart on a photo you like and it appears here."),
    )


def photo_count_for_profile(*, owner: User, viewer: User | AnonymousUser) -> int:
    """How many photos the profile shows this viewer (cached for visitors, like the grid)."""

    if viewer.is_authenticated and viewer.pk == owner.pk:
        return counter_totals(USER_READY_PHOTOS, [owner.pk])[owner.pk]
    # Kept by the photo services (counting 50k rows of a busy profile was the page's cost).
    return cache.get_or_compute(
        profile_count_key(owner_id=owner.pk),
        lambda: counter_totals(USER_PUBLIC_PHOTOS, [owner.pk])[owner.pk],
        ttl=GRID_TTL,
    )


def tag_photo_count(*, name: str) -> int:
    """How many public photos carry the tag (kept by the photo services; cached with the tag's grid)."""

    def count() -> int:
        tag_id = Tag.objects.filter(name=name).values("pk")[:1]
        shards = Counter.objects.filter(name=TAG_PUBLIC_PHOTOS, object_id=Subquery(tag_id))
        return int(shards.aggregate(total=Coalesce(Sum("value"), 0))["total"])

    return cache.get_or_compute(tag_count_key(name=name), count, ttl=GRID_TTL)


def listing_named(*, name: str, viewer: User | AnonymousUser) -> Listing | None:
    """The listing a photo page was opened from (its `?from=`), or None if the name means nothing.

    Raises TagsRejected for `tag:<name>` with a name no tag can have (no link to it can be built).
    """
    kind, _, argument = name.partition(":")
    if name == "recent":
        return listing_recent()
    if name == "popular":
        return listing_popular()
    if name == "feed" and viewer.is_authenticated:
        return listing_feed(viewer=viewer)
    if kind == "tag" and argument:
        return listing_tag(name=argument)  # TagsRejected if it cannot be a tag
    if kind == "search" and argument:
        return listing_search(query=argument, viewer=viewer)
    if name.startswith("search?"):
        params = dict(parse_qsl(name.removeprefix("search?")))
        try:
            filters = search_filters_from(params)
        except SearchFiltersRejected:
            return None
        query = params.get("q", "").strip()[:SEARCH_MAX_LENGTH]
        return listing_search(query=query, viewer=viewer, filters=filters)
    if name == "liked":
        return listing_liked(viewer=viewer)
    if kind == "timeline" and argument:
        person = User.objects.filter(username=argument, is_active=True).first()
        return listing_timeline(owner=person, viewer=viewer) if person else None
    if kind == "user" and argument:
        owner = User.objects.filter(username=argument, is_active=True).first()
        return listing_user(owner=owner, viewer=viewer) if owner else None
    album_id = number_from_text(argument)
    if kind == "album" and album_id is not None:
        # Only an album listed for this viewer: the link from an unlisted one carries no token.
        album = Album.objects.filter(pk=album_id).first()
        if album is None or not (album.visibility == Visibility.PUBLIC or viewer.pk == album.owner_id):
            return None
        return listing_album(album=album, viewer=viewer)
    return None


def photo_list_unfinished_for_owner(*, owner: User | AnonymousUser) -> list[Photo]:
    """The owner's own uploads still processing or failed, shown above the grid."""
    if not owner.is_authenticated or not owner.unfinished_photo_count:
        return []  # nothing unfinished, as the owner's row (read for every signed-in request) says
    photos = Photo.objects.filter(owner=owner).exclude(status=PhotoStatus.READY)
    # Only what the strip shows: compiling the SELECT of all 40 columns was most of this
    # query's cost on every signed-in home page, which almost always finds no row.
    photos = photos.only("id", "title", "status", "created_at")
    return list(photos.order_by("-created_at", "-id")[:24])


SHARE_TOKEN_SALT = "apps.photos.share"  # noqa: S105  # a salt (the secret is SECRET_KEY)
SHARE_TOKEN_LENGTH = 32  # hex digits: 128 bits


def photo_share_token(*, photo: Photo, secret: str | bytes | None = None) -> str:
    """The unguessable part of an unlisted photo's link (`/photos/<id>/?k=<token>`).

    Ids are sequential, so an id alone must open nothing. The token is a keyed digest of the
    photo's random key: nothing to store or migrate, the same in every process, and never in
    a listing. A new SECRET_KEY changes every link; SECRET_KEY_FALLBACKS keep old ones working.
    """
    digest = salted_hmac(SHARE_TOKEN_SALT, str(photo.key), secret=secret, algorithm="sha256")
    return digest.hexdigest()[:SHARE_TOKEN_LENGTH]


def photo_share_path(*, photo: Photo) -> str:
    """The link an owner hands out: the photo page with its token. For the owner (and people
    already holding the link) only: listings never carry it."""
    return f"{reverse('photo_detail', args=[photo.pk])}?k={photo_share_token(photo=photo)}"


def photo_share_token_matches(*, photo: Photo, token: str) -> bool:
    """Whether `token` is the photo's link token (under the current SECRET_KEY or a fallback)."""
    return _share_token_matches(photo, token)


def _share_token_matches(photo: Photo, token: str) -> bool:
    if len(token) != SHARE_TOKEN_LENGTH:
        return False
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(constant_time_compare(photo_share_token(photo=photo, secret=key), token) for key in keys)


def photo_get_for_viewer(*, photo_id: int, viewer: User | AnonymousUser, share_token: str = "") -> Photo:
    """A photo as this viewer may see it; 404 (not 403) for a private one, so ids leak nothing.

    An unlisted photo also needs its link's token (`share_token`, the `?k=` of
    `photo_share_path`) unless the viewer is its owner or staff: ids are sequential, so
    without it anyone could walk through everyone's unlisted photos.

    The card is cached whatever its visibility; the checks below run on every call. It
    decides who may see the photo, so it is refilled from the primary (privacy=True).
    """
    photo = cache.get_or_compute(
        photo_card_key(photo_id), partial(_photo_card, photo_id), ttl=PHOTO_CARD_TTL, privacy=True
    )
    if photo is None:
        raise Http404("No such photo.")
    is_owner = viewer.is_authenticated and photo.owner_id == viewer.pk
    if photo.visibility == Visibility.PRIVATE and not is_owner:
        raise Http404("No such photo.")
    if (
        photo.visibility == Visibility.UNLISTED
        and not (is_owner or viewer.is_staff)
        and not _share_token_matches(photo, share_token)
    ):
        raise Http404("No such photo.")
    if photo.status != PhotoStatus.READY and not is_owner:
        raise Http404("No such photo.")
    if photo.hidden_at is not None and not (is_owner or viewer.is_staff):
        raise Http404("No such photo.")
    if not photo.owner.is_active and not viewer.is_staff:  # deactivated: gone for everyone but moderators
        raise Http404("No such photo.")
    return photo


def _photo_card(photo_id: int) -> Photo | None:
    """The photo page's card: the photo and its owner, its renditions as rows, its tags and albums.

    On PostgreSQL the renditions and albums come in the photo's row (_RenditionsInRow,
    _AlbumsInRow): two queries (the photo, its tags) instead of four."""
    photos = _with_page_extras(_with_owner(Photo.objects.filter(pk=photo_id)))
    in_row = connection.vendor == "postgresql"
    if in_row:
        photos = photos.annotate(card_renditions=_RenditionsInRow(), card_albums=_AlbumsInRow())
    photo = photos.first()
    if photo is None:
        return None
    if in_row:
        # Not kept with the card: it holds them as rendition_rows and album_links below.
        renditions, albums = (
            _renditions_from_text(photo.__dict__.pop("card_renditions")),
            photo.__dict__.pop("card_albums"),
        )
        photo.album_links = [AlbumLink(*album) for album in albums or ()]  # type: ignore[attr-defined]
        if renditions is not None:
            photo.rendition_rows = [RenditionRow(*values) for values in renditions]  # type: ignore[attr-defined]
            return photo
    rendition_rows_attach([photo])
    if not in_row:
        entries = AlbumEntry.objects.filter(photo_id=photo_id).order_by("album__title", "album_id")
        fields = ("album_id", "album__title", "album__visibility")
        photo.album_links = [AlbumLink(*row) for row in entries.values_list(*fields)]  # type: ignore[attr-defined]
    return photo


class _AlbumsInRow(RawSQL):
    """The albums a photo is in, by title, as one JSON array in its row (PostgreSQL): AlbumLink's
    values [id, title, visibility] each (JSON: a title may hold any character)."""

    def __init__(self) -> None:
        album, entry = _columns(Album), _columns(AlbumEntry)
        link = ", ".join(f'a."{album[name]}"' for name in ("id", "title", "visibility"))
        super().__init__(
            f'SELECT json_agg(json_build_array({link}) ORDER BY a."{album["title"]}", a."{album["id"]}") '  # noqa: S608
            f'FROM "{AlbumEntry._meta.db_table}" e JOIN "{Album._meta.db_table}" a '
            f'ON a."{album["id"]}" = e."{entry["album"]}" WHERE e."{entry["photo"]}" = "{Photo._meta.db_table}"."id"',
            (),
        )


def _columns(model: type[Any]) -> dict[str, str]:
    """A model's column names by field name."""
    return {field.name: field.column for field in model._meta.concrete_fields}


def photo_get_for_owner(*, photo_id: int, owner: User | AnonymousUser) -> Photo:
    """A photo its owner is about to change; anyone else gets a 404."""
    if not owner.is_authenticated:
        raise Http404("No such photo.")
    photo = Photo.objects.filter(pk=photo_id, owner=owner).first()
    if photo is None:
        raise Http404("No such photo.")
    return photo


def photo_ids_needing_renditions(*, include_failed: bool = False) -> list[int]:
    """Photos whose renditions are missing or were made by an older pipeline."""
    needing: list[int] = []
    after_id: int | None = 0
    while after_id is not None:
        batch, after_id = photos_needing_renditions_scan(include_failed=include_failed, after_id=after_id)
        needing += batch
    return needing


def photos_needing_renditions_scan(
    *, include_failed: bool = False, after_id: int = 0, limit: int = 500, photo_ids: list[int] | None = None
) -> tuple[list[int], int | None]:
    """One batch of a keyset scan for photos whose renditions are missing or were made by an
    older pipeline: of the next `limit` candidates with an id above `after_id` (among
    `photo_ids`, if given), those needing renditions, and the last id looked at (None: the
    scan is over). Each batch is a fixed amount of work, whatever the table's size."""
    statuses = [PhotoStatus.READY, PhotoStatus.FAILED] if include_failed else [PhotoStatus.READY]
    photos = Photo.objects.filter(status__in=statuses, pk__gt=after_id)
    if photo_ids is not None:
        photos = photos.filter(pk__in=photo_ids)
    batch = list(
        photos.order_by("pk")
        .only("id", "status", "original_width", "original_height")
        .prefetch_related(
            Prefetch("renditions", queryset=Rendition.objects.only("photo_id", "size", "format", "file"))
        )[:limit]
    )
    current = f"-v{PIPELINE_VERSION}-"
    needing = []
    for photo in batch:
        have = {(r.size, r.format) for r in photo.renditions.all() if current in stored_name(r.file)}
        if (
            photo.status != PhotoStatus.READY
            or not renditions_expected(width=photo.original_width, height=photo.original_height) <= have
        ):
            needing.append(photo.pk)
    return needing, (batch[-1].pk if len(batch) == limit else None)


def photo_ids_of_owner(*, owner_id: int) -> list[int]:
    """Every photo id of one person, whatever its state (to forget their cached cards)."""
    return list(Photo.objects.filter(owner_id=owner_id).values_list("pk", flat=True))

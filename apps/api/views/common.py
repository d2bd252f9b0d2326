"""What every API view shares: error schemas, throttles, JSON bodies, paging and validation."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import quote_etag
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

from apps.accounts.models import ApiToken, User
from apps.api import serializers as s
from apps.photos import selectors as photo_selectors
from apps.photos.caching import GRID_STALE_TTL, GRID_TTL, api_page_key
from photosite import cache, ratelimit
from photosite.http import number_from_text
from photosite.pagecache import page_cache_allow

ERRORS = {code: s.ErrorSerializer for code in (400, 401, 403, 404, 429)}
MAX_LIMIT = 100


class WriteScopedThrottle(ScopedRateThrottle):
    """A tighter limit for one kind of write, on top of the per-client defaults; reads of the
    same endpoint are not counted against it.

    Uploads, comments, likes and follows (settings.WRITE_LIMITS) count per person in
    photosite.ratelimit, the same count the HTML forms draw on; logins per client address
    here (DRF's own scoped rate).
    """

    wait_seconds: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        action = getattr(view, "throttle_scope", "")
        if action in settings.WRITE_LIMITS:
            person = f"user:{request.user.pk}" if request.user.is_authenticated else f"ip:{self.get_ident(request)}"
            self.wait_seconds = ratelimit.write_limit_hit(action=action, ident=person)
            return self.wait_seconds is None
        return super().allow_request(request, view)

    def wait(self) -> float | None:
        return self.wait_seconds if self.wait_seconds is not None else super().wait()


class SignedInRateThrottle(UserRateThrottle):
    """The per-person limit, for signed-in requests only. DRF's UserRateThrottle counts an
    anonymous request a second time, under the same client address AnonRateThrottle already
    counts it by (with a looser rate): two more Redis round trips for every visitor's request."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user.is_authenticated:
            return None  # AnonRateThrottle's
        return super().get_cache_key(request, view)


# Every counter lives in the default cache (Redis), so all web processes share them.
THROTTLES = [AnonRateThrottle, SignedInRateThrottle, WriteScopedThrottle]


def signed_in_user(request: Request) -> User:
    """The request's user, in a view (or method) whose permission class lets only signed-in people in.

    The permission check has already refused anyone else; this says so to the type checker,
    and answers 401 rather than go on should a view's permissions ever say otherwise.
    """
    if not isinstance(request.user, User):
        raise NotAuthenticated()
    return request.user


def may_hand_out_links(request: Request) -> bool:
    """Whether an answer to `request` may carry its person's share links (an unlisted item's
    `share_url`, a share link's whole token). Not through a read-only API token: a link opens
    the item for anyone and outlives the token, so handing one out is a write."""
    return not isinstance(request.auth, ApiToken) or request.auth.may_write


def viewer_context(request: Request) -> dict[str, Any]:
    """What PhotoSerializer and AlbumSerializer need to know of who is asking."""
    return {"viewer": request.user, "may_share": may_hand_out_links(request)}


def share_token_of(request: Request) -> str:
    """An unlisted photo's link token (`?k=`, as on the photo page's link), for photo_get_for_viewer."""
    return str(request.query_params.get("k", ""))[:100]


def request_body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    return dict(request.data.items())


def page_limit(request: Request) -> int:
    raw = request.query_params.get("limit", "")
    if not raw:
        return settings.PHOTOS_PAGE_SIZE
    limit = number_from_text(raw)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError({"limit": [f"Give a whole number from 1 to {MAX_LIMIT}."]})
    return limit


def photo_page_response(request: Request, listing: photo_selectors.Listing) -> HttpResponse:
    """A page of photos as JSON, with an ETag (conditional_response).

    The first page of a listing that is the same for everyone (Listing.shared: public photos
    only, so no viewer's share_url in it) is kept encoded in Redis under the listing's version,
    as the HTML grids are: a photo made private (or any write to the listing) bumps it, so it
    leaves the kept page at once. Later pages and a viewer's own listings are built each time.
    """
    cursor = request.query_params.get("cursor") or None
    limit = page_limit(request)

    def encoded() -> EncodedPage:
        page = listing.page(cursor=cursor, limit=limit, with_tags=True)
        next_url = None
        if page.next_cursor:
            query = request.query_params.copy()
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        photos = s.PhotoSerializer(page.items, many=True, context=viewer_context(request)).data
        return encoded_page({"results": photos, "next": next_url})

    if listing.shared and cursor is None:
        key = api_page_key(listing=listing, address=request.build_absolute_uri())
        body, etag = cache.get_or_compute(key, encoded, ttl=GRID_TTL, stale_ttl=GRID_STALE_TTL, privacy=True)
        return conditional_response(request, body, etag, same_for_visitors=True)
    body, etag = encoded()
    return conditional_response(request, body, etag)


EncodedPage = tuple[bytes, str]  # the JSON body, and its ETag


def encoded_page(data: Any) -> EncodedPage:
    """`data` as DRF's JSONRenderer sends it, and an ETag of those bytes (encoded once: the
    ETag used to be a second, sorted encoding of the same data)."""
    body = JSONRenderer().render(data)
    return body, quote_etag(hashlib.sha256(body).hexdigest()[:32])


def conditional_response(request: Request, body: bytes, etag: str, *, same_for_visitors: bool = False) -> HttpResponse:
    """`body` with its ETag; 304 with no body when If-None-Match names it (a client polling a
    list that has not changed fetches nothing).

    `private`: the content may be this viewer's, so no shared cache may keep it; unless it is
    `same_for_visitors` (read through the cache under the versions that forget it) and asked
    for by one: then it is kept whole for visitors like the HTML pages (photosite/pagecache.py,
    which answers the next ones, If-None-Match included, before any other middleware runs)."""
    headers = {"ETag": etag}
    if same_for_visitors and not request.user.is_authenticated:
        page_cache_allow(request)  # the page cache then says how long the edge may keep it
    else:
        headers["Cache-Control"] = "private, no-cache"
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return HttpResponse(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return HttpResponse(body, content_type="application/json", headers=headers)


PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="From the previous page's `next`."),
    OpenApiParameter("limit", int, description=f"Photos per page, 1 to {MAX_LIMIT}."),
    OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, description="The last ETag: 304 if unchanged."),
]


def validated(
    serializer_class: type[drf_serializers.Serializer[dict[str, Any]]], data: Any, **kwargs: Any
) -> dict[str, Any]:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)

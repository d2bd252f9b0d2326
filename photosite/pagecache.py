"""Whole pages cached for anonymous visitors, answered before sessions, auth, CSRF and messages run.

A visitor's GET with no cookie but the CSRF and language ones, and no Authorization
header, is looked up by scheme, host, path with query and language. A page is stored
only when its view said it may be (`page_cache_allow`, no `page_cache_refuse`), the
response is a plain 200 that sets no cookie, varies on nothing but Cookie and
Accept-Language, and used no CSRF token, and every cached value the page was built
from went through the shared cache (photosite/cache.py, `reads_recorded`).

The entry keeps that record: the versions and value stamps the page was built from. It
is served again only while `reads_still_current` finds every one unchanged, so any
invalidation its fragments honour (a listing's scope bumped, a photo's card forgotten)
empties the page on every web process at once; so does a like, a comment or a follow
(photosite/counters.py versions each count a page reads). PAGE_TTL bounds the rest, what
no version covers (a person's bio, edits made in the admin): it lags at most that long.

Only with a shared cache (Redis): a per-process copy could never be told to forget.
PAGE_CACHE_ENABLED=false turns it off (pages then render from the cached fragments).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import translation
from prometheus_client import Counter

from photosite import cache

PAGE_TTL = 10  # seconds: how stale what no version covers may be for visitors (a bio, admin edits)
ALLOWED = "photosite.page_cache.allowed"
REFUSED = "photosite.page_cache.refused"
HIT_HEADER = "X-Page-Cache"
# Headers the page may vary on: the key holds the language, and a request is looked up only
# without a session cookie (and stored only when it used no CSRF token).
VARY_ALLOWED = frozenset({"cookie", "accept-language"})
HEADER_LIST_SEPARATOR = re.compile(r"\s*,\s*")

PAGE_CACHE_REQUESTS = Counter(
    "photosite_page_cache_requests",
    "Page requests by outcome: hit, stored (a miss, rendered and kept), rendered (a visitor's GET not kept),"
    " bypassed (not a visitor's GET: signed in, cookies, a write)",
    ["outcome"],
)


def page_cache_allow(request: HttpRequest) -> None:
    """The view's page is the same for every anonymous visitor and built from cached values."""
    request.META[ALLOWED] = True


def page_cache_refuse(request: HttpRequest) -> None:
    """The page shows something no cache version covers (overrides any allow)."""
    request.META[REFUSED] = True


def _visitor_cookies_only(request: HttpRequest) -> bool:
    harmless = {settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME}
    return all(name in harmless for name in request.COOKIES)


def page_key_for(request: HttpRequest) -> str | None:
    """The key an anonymous visitor's GET is cached under, None if it must not be."""
    if request.method != "GET" or "HTTP_AUTHORIZATION" in request.META or not _visitor_cookies_only(request):
        return None
    try:
        host = request.get_host()
    except DisallowedHost:
        return None  # the stack below answers it with a 400
    language = translation.get_language_from_request(request) if settings.USE_I18N else settings.LANGUAGE_CODE
    where = f"{request.scheme}://{host}{request.get_full_path()}"
    return f"pagecache:{language}:{hashlib.blake2b(where.encode(), digest_size=16).hexdigest()}"


def _storable(request: HttpRequest, response: HttpResponseBase, reads: cache.CacheReads, language: str) -> bool:
    if not (request.META.get(ALLOWED) and not request.META.get(REFUSED) and reads.complete):
        return False
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return False  # a form with this visitor's token: never into a shared copy
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    if any(word in response.get("Cache-Control", "") for word in ("private", "no-store", "no-cache")):
        return False
    vary = {header.lower() for header in HEADER_LIST_SEPARATOR.split(response.get("Vary", "")) if header}
    if not vary <= VARY_ALLOWED:
        return False
    return response.get("Content-Language", language) == language


class PageCacheMiddleware:
    """Listed before SessionMiddleware: a hit costs two Redis round trips and no session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.enabled = settings.PAGE_CACHE_ENABLED and cache.cache_is_shared()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        key = page_key_for(request) if self.enabled else None
        if key is None:
            PAGE_CACHE_REQUESTS.labels("bypassed").inc()
            return self.get_response(request)
        entry: dict[str, Any] | None = django_cache.get(key)
        if entry is not None and cache.reads_still_current(entry["reads"]):
            PAGE_CACHE_REQUESTS.labels("hit").inc()
            cached = HttpResponse(entry["content"], status=entry["status"])
            for header, value in entry["headers"]:
                cached[header] = value
            cached[HIT_HEADER] = "hit"
            return cached
        with cache.reads_recorded() as reads:
            response = self.get_response(request)
        language = key.split(":", 2)[1]
        if isinstance(response, HttpResponse) and _storable(request, response, reads, language):
            headers = list(response.items())
            entry = {"reads": reads, "status": response.status_code, "headers": headers, "content": response.content}
            django_cache.set(key, entry, timeout=PAGE_TTL)
            PAGE_CACHE_REQUESTS.labels("stored").inc()
        else:
            PAGE_CACHE_REQUESTS.labels("rendered").inc()
        return response

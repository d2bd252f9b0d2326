"""Limits on how often one person may write (upload, comment, like, follow), shared by every
door: the HTML forms, the pages' scripts and the REST API count against the same budget,
so a limit the API enforces cannot be walked around through a form.

Counted in the default cache (Redis once REDIS_URL is set), with atomic increments, so
every web process draws on one count. The window slides: the count of the previous
fixed window is weighed by how much of it still overlaps the last `period` seconds, so a
burst straddling a window's edge cannot take twice the limit. If Redis is down the limit
is off (the cache ignores errors) rather than refusing everyone, as the API's throttles.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from prometheus_client import Counter

from photosite.http import wants_json

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # as DRF reads "30/min", "60/hour"

# A burst of refusals is someone scripting the site (or a limit set too low): /metrics shows which.
WRITES_REFUSED = Counter("photosite_writes_refused", "Writes refused by a per-person write limit", ["action"])


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def rate_parse(text: str) -> Rate:
    """`30/min`, `60/hour`, `5/300s` (the last: a number of seconds)."""
    count, _, period = text.partition("/")
    seconds = int(period.rstrip("s")) if period[:1].isdigit() else PERIODS[period[:1]]
    return Rate(count=int(count), seconds=seconds)


def _key(scope: str, ident: str, window: int) -> str:
    return f"ratelimit:{scope}:{ident}:{window}"


def rate_limit_hit(
    *, scope: str, ident: str, rate: Rate, now: float | None = None, uncounted_wait: float | None = None
) -> float | None:
    """Count one attempt at `scope` by `ident`: None if it is within `rate`, else the seconds
    to wait. A refused attempt is not counted, so waiting is enough to be let in again.

    When nothing can count (Redis down, or a cache that keeps nothing) the attempt is let
    through, unless `uncounted_wait` is given: then it is refused with that wait (for limits
    that guard a secret, such as a share link's password, rather than the site's load)."""
    now = time.time() if now is None else now
    window, into = divmod(now, rate.seconds)
    current_key, previous_key = _key(scope, ident, int(window)), _key(scope, ident, int(window) - 1)
    cache.add(current_key, 0, timeout=2 * rate.seconds)  # no-op if it exists: incr must not reset it
    try:
        # Typed int, but django-redis answers None when Redis is down (IGNORE_EXCEPTIONS).
        current = cast("int | None", cache.incr(current_key))
    except ValueError:  # expired between add and incr, or a cache that keeps nothing
        return uncounted_wait
    if current is None:  # Redis down (IGNORE_EXCEPTIONS): no limit rather than no writes
        return uncounted_wait
    previous = cache.get(previous_key) or 0
    overlap = 1 - into / rate.seconds  # how much of the previous window the last `period` still covers
    if previous * overlap + current <= rate.count:
        return None
    cache.decr(current_key)
    if current > rate.count:  # this window alone is full: wait for the next
        return max(1.0, rate.seconds - into)
    # The previous window's share must shrink to make room: until its overlap is small enough.
    overlap_needed = (rate.count - current) / previous
    return max(1.0, (overlap - overlap_needed) * rate.seconds)


def write_limit_hit(*, action: str, ident: str) -> float | None:
    """Count one write of `action` ("upload", "comment", ...; WRITE_LIMITS) by one person
    (`user:<id>`): None if allowed, else the seconds to wait."""
    wait = rate_limit_hit(scope=f"write:{action}", ident=ident, rate=rate_parse(settings.WRITE_LIMITS[action]))
    if wait is not None:
        WRITES_REFUSED.labels(action=action).inc()
    return wait


WRITE_LIMIT_MESSAGES = {
    "upload": "You have uploaded a lot in a short time.",
    "upload_grant": "You have started a lot of uploads in a short time.",
    "comment": "You have posted a lot of comments in a short time.",
    "like": "You have liked and unliked a lot in a short time.",
    "follow": "You have followed and unfollowed a lot in a short time.",
    "profile": "You have changed your profile a lot in a short time.",
    "share": "You have made a lot of share links in a short time.",
}


def write_limited_response(request: HttpRequest, *, action: str, wait: float) -> HttpResponse:
    """429 for a page's write past its limit: JSON for the page's script, else the 429 page."""
    minutes = math.ceil(wait / 60)
    when = "in a minute" if minutes <= 1 else f"in {minutes} minutes"
    message = f"{WRITE_LIMIT_MESSAGES[action]} Nothing was saved; please try again {when}."
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse({"error": message}, status=429)
    else:
        response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(math.ceil(wait))
    return response


View = TypeVar("View", bound=Callable[..., HttpResponse])


def write_limited(action: str) -> Callable[[View], View]:
    """For an HTML view that writes: a signed-in person's POST past their `action` limit (the
    same count as the API's) gets a 429 and the view never runs, so nothing changes.
    Put it under `login_required` and the method check, so refusals of those cost nothing."""

    def decorator(view: View) -> View:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST" and request.user.is_authenticated:
                wait = write_limit_hit(action=action, ident=f"user:{request.user.pk}")
                if wait is not None:
                    return write_limited_response(request, action=action, wait=wait)
            return view(request, *args, **kwargs)

        return limited  # type: ignore[return-value]  # the same signature as the view it wraps

    return decorator

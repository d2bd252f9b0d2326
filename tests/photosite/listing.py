"""A read the tests of replica routing can watch: an owner's photos through the API that no
cache answers and no privacy rule sends to the primary.

The first page of a visitor's listing is kept in Redis and refilled from the primary (it
decides who sees which photo, so it must never be refilled from a lagging replica:
photosite/cache.py), and photo pages read their card from the primary too. A month of the
owner's timeline is built on each request, so it reads wherever the router sends it.
"""

from __future__ import annotations

from django.utils import timezone


def uncached_listing_path(username: str) -> str:
    """The API path of `username`'s photos of this month (uploaded now: their timeline month)."""
    return f"/api/v1/photos/?user={username}&order=taken&month={timezone.now():%Y-%m}"

"""Page helpers shared by every app's HTML views that show photos: a listing's grid
page (with its infinite-scroll JSON), and the JSON errors the upload page's script reads."""

from __future__ import annotations

from typing import TypedDict
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from apps.photos.caching import GRID_STALE_TTL, GRID_TTL, grid_key
from apps.photos.selectors import Listing
from photosite import cache
from photosite.pagecache import page_cache_allow
from photosite.pagination import BadCursor


class GridPage(TypedDict):
    items: str  # the cards' HTML
    next: str | None  # the next page's URL, None on the last page


def listing_response(
    request: HttpRequest,
    listing: Listing,
    *,
    template: str,
    context: dict[str, object] | None = None,
    items_template: str = "photos/_grid_items.html",
) -> HttpResponse:
    """A page of a listing: the full page, or (`?partial=1`, for infinite scroll) the next cards as JSON.

    `?after=<cursor>` continues where the previous page ended. The first page of a
    listing that is the same for everyone is cached as HTML, once for all viewers.
    `items_template` renders the cards (the timeline's puts month headings between them).
    """
    cursor = request.GET.get("after") or None

    def grid() -> GridPage:
        page = listing.page(cursor=cursor)
        items = render_to_string(items_template, {"photos": page.items, "from": listing.name})
        separator = "&" if "?" in listing.url else "?"
        next_url = f"{listing.url}{separator}after={page.next_cursor}" if page.next_cursor else None
        return {"items": items, "next": next_url}

    try:
        if listing.shared and cursor is None:
            # privacy=True: it shows photos, so a photo made private must leave it at once.
            data = cache.get_or_compute(
                grid_key(listing=listing), grid, ttl=GRID_TTL, stale_ttl=GRID_STALE_TTL, privacy=True
            )
        else:
            data = grid()
    except BadCursor as error:
        if request.GET.get("partial") == "1":
            return json_error(error.message)
        context = {"title": gettext("Broken page link"), "message": error.message, "back_url": listing.url}
        return render(request, "error.html", context, status=400)
    if listing.shared and cursor is None:
        page_cache_allow(request)  # its grid was read through the cache, under the listing's version
    if request.GET.get("partial") == "1":
        return JsonResponse({"html": data["items"], "next": data["next"]})
    page_context = {
        **(context or {}),
        "listing": listing,
        "grid_items": mark_safe(data["items"]),  # noqa: S308 (rendered by our template, escaped there)
        "next_url": data["next"],
    }
    return render(request, template, page_context)


def json_error(message: str, status: int = 400, **fields: object) -> JsonResponse:
    return JsonResponse({"error": message, **fields}, status=status)


def json_form_errors(form: forms.Form) -> JsonResponse:
    """A 400 naming the first problem, with every field's errors for the script."""
    first_error = next(iter(form.errors.values()))[0]
    return json_error(str(first_error), fields=form.errors.get_json_data())


def share_token_of(request: HttpRequest) -> str:
    """The unlisted photo link's token this request carries (`?k=`, also on the page's form
    actions), for photo_get_for_viewer; empty when there is none."""
    return request.GET.get("k", "")[:100]


def share_query(request: HttpRequest) -> str:
    """`?k=<token>` to keep on the links and redirects of a photo page opened with one, so a
    visitor who came by an unlisted link can like, comment and report; empty otherwise."""
    token = share_token_of(request)
    return f"?{urlencode({'k': token})}" if token else ""

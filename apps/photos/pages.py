"""Page helpers shared by every app's HTML views that show photos: a listing's grid
page (with its infinite-scroll JSON), the JSON errors the upload page's script reads, and what
a link to a photo, album or profile page shows when pasted elsewhere (LinkPreview)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypedDict
from urllib.parse import parse_qs, urlencode, urlsplit

from django import forms
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from apps.accounts.models import User
from apps.albums.models import Album
from apps.albums.selectors import album_list_for_owner, album_share_path, album_share_token_matches
from apps.photos.caching import grid_get_or_compute
from apps.photos.imaging import AVATAR_SIZE
from apps.photos.models import Photo, PhotoStatus, Visibility
from apps.photos.selectors import (
    Listing,
    RenditionLike,
    photo_get_for_viewer,
    photo_share_path,
    photo_share_token_matches,
    renditions_of,
)
from apps.photos.services import renditions_are_public
from photosite.pagecache import page_cache_allow
from photosite.pagination import BadCursor


class GridPage(TypedDict):
    items: str  # the cards' HTML
    next: str | None  # the next page's URL, None on the last page


GRID_ITEMS = "photos/_grid_items.html"  # a grid's cards: photo_cards of CardRows


def listing_response(
    request: HttpRequest,
    listing: Listing,
    *,
    template: str,
    context: dict[str, object] | None = None,
    items_template: str = GRID_ITEMS,
) -> HttpResponse:
    """A page of a listing: the full page, or (`?partial=1`, for infinite scroll) the next cards as JSON.

    `?after=<cursor>` continues where the previous page ended. The first page of a
    listing that is the same for everyone is cached as HTML, once for all viewers.
    `items_template` renders the cards (the timeline's puts month headings between them).
    """
    cursor = request.GET.get("after") or None

    def grid() -> GridPage:
        # The usual cards read plain rows (Listing.card_page); another items template, models.
        page = listing.card_page(cursor=cursor) if items_template == GRID_ITEMS else listing.page(cursor=cursor)
        items = render_to_string(items_template, {"photos": page.items, "from": listing.name})
        separator = "&" if "?" in listing.url else "?"
        next_url = f"{listing.url}{separator}after={page.next_cursor}" if page.next_cursor else None
        return {"items": items, "next": next_url}

    try:
        if (listing.shared or listing.cached_for is not None) and cursor is None:
            data = grid_get_or_compute(listing=listing, compute=grid)  # privacy=True, one round trip
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


@dataclass(frozen=True)
class LinkPreview:
    """What a link to a page shows when pasted elsewhere (OpenGraph and Twitter card tags,
    photos/_link_preview.html). Only for what anyone holding the link may see: nothing for a
    private photo or album, and an unlisted one only on its link (then marked noindex)."""

    kind: str  # og:type: "article" (a photo, an album) or "profile"
    title: str
    description: str
    url: str  # absolute; an unlisted item's carries its token, as the link handed out does
    image: RenditionLike | None = None  # the best public rendition, its URL made absolute below
    image_url: str = ""
    image_alt: str = ""
    image_width: int = 0
    image_height: int = 0
    noindex: bool = False
    oembed_url: str = ""  # the oEmbed discovery link (photo pages)


PREVIEW_IMAGE_SIZE = 1280  # what link previews ask for (about 1200 px wide); JPEG, which every reader decodes


def preview_rendition(photo: Photo, *, max_width: int = 0, max_height: int = 0) -> RenditionLike | None:
    """The photo's JPEG rendition to show in a preview or an embed: the largest that fits the
    bounds given (else the smallest), and without bounds the one nearest PREVIEW_IMAGE_SIZE."""
    jpegs = [rendition for rendition in renditions_of(photo) if rendition.format == "jpg"]
    if not jpegs:
        return None
    if not (max_width or max_height):
        return min(jpegs, key=lambda r: abs(r.size - PREVIEW_IMAGE_SIZE))
    fitting = [
        r for r in jpegs if (not max_width or r.width <= max_width) and (not max_height or r.height <= max_height)
    ]
    return fitting[-1] if fitting else jpegs[0]


def _with_image(request: HttpRequest, preview: LinkPreview, photo: Photo | None) -> LinkPreview:
    rendition = preview_rendition(photo) if photo is not None and renditions_are_public(photo) else None
    if rendition is None:
        return preview
    return replace(
        preview,
        image=rendition,
        image_url=request.build_absolute_uri(rendition.url),
        image_alt=photo.alt_text if photo is not None else "",
        image_width=rendition.width,
        image_height=rendition.height,
    )


def photo_link_preview(request: HttpRequest, photo: Photo) -> LinkPreview | None:
    """The preview of a photo page as this request opened it (photo_get_for_viewer has let it
    through): public and ready, or unlisted opened by its link's token. Never for a private or
    hidden photo, nor an unlisted one its owner opened without the token."""
    if photo.status != PhotoStatus.READY or photo.hidden_at is not None or not photo.owner.is_active:
        return None
    if photo.visibility == Visibility.PUBLIC:
        path = reverse("photo_detail", args=[photo.pk])
    elif photo.visibility == Visibility.UNLISTED and photo_share_token_matches(
        photo=photo, token=share_token_of(request)
    ):
        path = photo_share_path(photo=photo)
    else:
        return None
    url = request.build_absolute_uri(path)
    preview = LinkPreview(
        kind="article",
        title=photo.title,
        description=photo.caption or photo.alt_text,
        url=url,
        noindex=photo.visibility == Visibility.UNLISTED,
        oembed_url=request.build_absolute_uri(f"{reverse('oembed')}?{urlencode({'url': url, 'format': 'json'})}"),
    )
    return _with_image(request, preview, photo)


def profile_link_preview(request: HttpRequest, person: User) -> LinkPreview:
    """A person's page: their name, their bio, their picture (a public 256 px square)."""
    preview = LinkPreview(
        kind="profile",
        title=person.shown_name,
        description=person.bio or gettext("Photos by %(name)s") % {"name": person.shown_name},
        url=request.build_absolute_uri(reverse("profile", args=[person.username])),
    )
    if person.avatar_key:
        preview = replace(
            preview,
            image_url=request.build_absolute_uri(person.avatar_url),
            image_width=AVATAR_SIZE,
            image_height=AVATAR_SIZE,
            image_alt=person.shown_name,
        )
    return preview


def photo_for_embed(*, url: str, host: str) -> Photo:
    """The photo an oEmbed request's `url` names, as anyone holding that link may see it:
    public, or unlisted with its token in the url. Http404 for anything else (another site,
    another page, a private or hidden photo, a wrong token), whoever asks: an embed is shown
    to whoever views the page it is pasted in."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
        raise Http404("Not a photo of this site.")
    try:
        match = resolve(parts.path)
    except Resolver404:
        raise Http404("Not a photo of this site.") from None
    if match.url_name != "photo_detail":
        raise Http404("Not a photo of this site.")
    token = parse_qs(parts.query).get("k", [""])[0][:100]
    photo = photo_get_for_viewer(photo_id=match.kwargs["photo_id"], viewer=AnonymousUser(), share_token=token)
    if photo.visibility not in (Visibility.PUBLIC, Visibility.UNLISTED):
        raise Http404("Not a photo of this site.")  # photo_get_for_viewer already refuses the rest
    return photo


def album_link_preview(request: HttpRequest, album: Album) -> LinkPreview | None:
    """An album page's preview: public albums, and unlisted ones opened by their link (noindex);
    nothing for a private one. Its picture is the cover as a visitor sees it (a public photo)."""
    if album.visibility == Visibility.PUBLIC:
        path = reverse("album_detail", args=[album.pk])
    elif album.visibility == Visibility.UNLISTED and album_share_token_matches(
        album=album, token=share_token_of(request)
    ):
        path = album_share_path(album=album)
    else:
        return None
    preview = LinkPreview(
        kind="article",
        title=album.title,
        description=album.description or gettext("An album by %(name)s") % {"name": album.owner.shown_name},
        url=request.build_absolute_uri(path),
        noindex=album.visibility == Visibility.UNLISTED,
    )
    as_visitor = album_list_for_owner(owner=album.owner, viewer=AnonymousUser(), album_id=album.pk)
    cover = as_visitor[0].cover_photo if as_visitor else None  # type: ignore[attr-defined]  # set by the selector
    return _with_image(request, preview, cover)

"""Share link pages: the recipient opens `/s/<token>/` without an account (after the link's
password, if it has one); the owner makes and revokes links from the item's page.

Every answer under `/s/` is private to the link's holder: never kept by a shared cache
(nor the whole-page cache, which only keeps pages that ask for it), never indexed, and
sent with no Referer, so the token in the address does not travel to the image host or
to a page the recipient follows a link to.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.throttling import BaseThrottle

from apps.albums.selectors import album_get_for_owner
from apps.photos.selectors import photo_get_for_owner
from apps.sharing import selectors, services
from apps.sharing.forms import ShareLinkForm, SharePasswordForm
from apps.sharing.models import ShareLink
from photosite.http import AuthenticatedHttpRequest
from photosite.pagination import BadCursor
from photosite.ratelimit import Rate, rate_limit_hit, write_limited

SHARE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}
# Tries at a link's password: from one client address, and from everyone together (a link is
# one secret, guessed from anywhere; 50 an hour still makes a 6-character password slow to find).
PASSWORD_RATE = Rate(count=5, seconds=300)
PASSWORD_RATE_ALL = Rate(count=50, seconds=3600)
UNCOUNTED_WAIT = 60.0  # seconds to wait when the limiter cannot count (Redis down)
UNLOCKED_KEY = "sharing.unlocked"  # in the session: ids of the links whose password it gave
UNLOCKED_KEPT = 50  # the most recent ones; an older one asks for its password again


def _share_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page under `/s/<token>/`: its headers on every answer, and a link that does not
    open (none, expired, revoked, or its photo hidden or gone) answered here, with the
    same headers, saying only that it does not open."""

    @wraps(view)
    def shared(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except selectors.ShareGone as gone:
            context = {"title": gettext("This link no longer works"), "message": gone.message}
            response = render(request, "error.html", context, status=410)
        except Http404:
            message = gettext("This link does not exist, or what it showed is no longer there.")
            response = render(request, "error.html", {"title": gettext("Not found"), "message": message}, status=404)
        for header, value in SHARE_HEADERS.items():
            response.headers.setdefault(header, value)
        return response

    return shared


def _unlocked(request: HttpRequest, link: ShareLink) -> bool:
    return not link.has_password or link.pk in request.session.get(UNLOCKED_KEY, [])


def _unlock(request: HttpRequest, link: ShareLink) -> None:
    unlocked = [pk for pk in request.session.get(UNLOCKED_KEY, []) if pk != link.pk]
    request.session[UNLOCKED_KEY] = [*unlocked, link.pk][-UNLOCKED_KEPT:]


def _password_page(request: HttpRequest, link: ShareLink) -> HttpResponse:
    """The form a password-protected link shows first; a POST tries the password."""
    response = _password_answer(request, link)
    # Not no-referrer: under it a browser posts the form with `Origin: null`, which CSRF
    # protection refuses. same-origin sends the address only to this site, which has it anyway.
    response["Referrer-Policy"] = "same-origin"
    return response


def _password_answer(request: HttpRequest, link: ShareLink) -> HttpResponse:
    if request.method != "POST":
        return render(request, "sharing/password.html", {"form": SharePasswordForm()})
    form = SharePasswordForm(request.POST)
    # Per link and client, so someone else holding the link cannot lock its recipient out, and
    # per link for everyone, which bounds guessing from many addresses; refused while the
    # limiter cannot count (Redis down), since then nothing would bound the guessing.
    client = BaseThrottle().get_ident(request)  # type: ignore[arg-type]  # reads only META, as an HttpRequest has it
    wait = rate_limit_hit(
        scope="share-password", ident=f"{link.pk}:{client}", rate=PASSWORD_RATE, uncounted_wait=UNCOUNTED_WAIT
    ) or rate_limit_hit(
        scope="share-password-all", ident=str(link.pk), rate=PASSWORD_RATE_ALL, uncounted_wait=UNCOUNTED_WAIT
    )
    if wait is not None:
        minutes = math.ceil(wait / 60)
        form.add_error(
            None,
            ngettext(
                "Too many tries at this link's password. Please wait a minute, then try again.",
                "Too many tries at this link's password. Please wait %(minutes)d minutes, then try again.",
                minutes,
            )
            % {"minutes": minutes},
        )
        response = render(request, "sharing/password.html", {"form": form}, status=429)
        response["Retry-After"] = str(math.ceil(wait))
        return response
    if form.is_valid() and services.share_link_password_matches(link=link, password=form.cleaned_data["password"]):
        _unlock(request, link)
        return redirect(request.path)
    if form.is_valid():
        form.add_error("password", gettext("That is not this link's password."))
    return render(request, "sharing/password.html", {"form": form}, status=403)


@_share_page
@require_http_methods(["GET", "POST"])
def share_open(request: HttpRequest, token: str) -> HttpResponse:
    """What the link shows: its photo, or its album's grid (`?after=` pages on)."""
    link = selectors.share_link_get_open(token=token)
    # A photo hidden or deleted since: a 404 before any password, as for everyone.
    photo = selectors.share_photo_get(link=link) if link.photo_id is not None else None
    if not _unlocked(request, link):
        return _password_page(request, link)
    if request.method == "POST":
        return redirect(request.path)
    if photo is not None:
        services.share_link_viewed(link=link)
        return render(request, "sharing/photo.html", {"link": link, "photo": photo})
    cursor = request.GET.get("after") or None
    try:
        page = selectors.share_album_page(link=link, cursor=cursor)
    except BadCursor as error:
        broken = {"title": gettext("Broken page link"), "message": error.message, "back_url": request.path}
        return render(request, "error.html", broken, status=400)
    if cursor is None:
        services.share_link_viewed(link=link)
    context: dict[str, object] = {
        "link": link,
        "album": link.album,
        "photos": page.items,
        "next_cursor": page.next_cursor,
    }
    return render(request, "sharing/album.html", context)


@_share_page
@require_http_methods(["GET"])
def share_album_photo(request: HttpRequest, token: str, photo: int) -> HttpResponse:
    """One photo of a shared album, through the album's link."""
    link = selectors.share_link_get_open(token=token)
    if link.album_id is None:
        raise Http404("No such photo.")
    if not _unlocked(request, link):
        return redirect("share_open", token=token)
    shown = selectors.share_photo_get(link=link, photo_id=photo)
    return render(request, "sharing/photo.html", {"link": link, "photo": shown, "album": link.album})


def _created(request: AuthenticatedHttpRequest, *, back: str, **target: Any) -> HttpResponse:
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("The link was not made: %(problem)s") % {"problem": _first_error(form)})
        return redirect(f"{back}#share-links")
    try:
        services.share_link_create(
            owner=request.user,
            expires_in_days=form.expires_in_days(),
            password=form.cleaned_data["password"],
            **target,
        )
    except services.ShareRefused as refusal:
        messages.error(request, gettext("The link was not made: %(problem)s") % {"problem": refusal})
    else:
        messages.success(request, gettext("Share link made: copy it from the list below."))
    return redirect(f"{back}#share-links")


def _first_error(form: ShareLinkForm) -> str:
    return str(next(iter(form.errors.values()))[0])


@login_required
@require_POST
@write_limited("share")
def photo_share_create(request: AuthenticatedHttpRequest, photo_id: int) -> HttpResponse:
    photo = photo_get_for_owner(photo_id=photo_id, owner=request.user)
    return _created(request, back=reverse("photo_detail", args=[photo.pk]), photo=photo)


@login_required
@require_POST
@write_limited("share")
def album_share_create(request: AuthenticatedHttpRequest, album_id: int) -> HttpResponse:
    album = album_get_for_owner(album_id=album_id, owner=request.user)
    return _created(request, back=reverse("album_detail", args=[album.pk]), album=album)


@login_required
@require_POST
def share_revoke(request: AuthenticatedHttpRequest, share: str) -> HttpResponse:
    link = selectors.share_link_get_for_owner(owner=request.user, share=share)
    services.share_link_revoke(link=link)
    messages.success(request, gettext("Link revoked: it no longer opens."))
    back = (
        reverse("photo_detail", args=[link.photo_id])
        if link.photo_id is not None
        else reverse("album_detail", args=[link.album_id])
    )
    return redirect(f"{back}#share-links")

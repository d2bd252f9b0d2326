"""Album pages: everyone sees an album's visible photos; its owner creates and arranges it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.albums import selectors, services
from apps.albums.models import Album
from apps.photos.caching import album_version_read, person_listings_version_read
from apps.photos.models import Visibility
from apps.photos.pages import album_link_preview, listing_response, share_token_of
from apps.photos.selectors import listing_album
from photosite.http import AuthenticatedHttpRequest, number_from_text, redirect_back
from photosite.pagecache import page_cache_allow


class AlbumForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # Not required: the photo page's "New album with this photo" sends a title alone (public).
    visibility = forms.ChoiceField(
        label=gettext_lazy("Who can see it"), choices=Visibility.choices, required=False, initial=Visibility.PUBLIC
    )


@require_GET
def album_detail(request: HttpRequest, album_id: int) -> HttpResponse:
    """The album's photos the viewer may see; a private album is its owner's alone, an unlisted
    one opens by its link (`?k=`)."""
    # Versions before rows: a page kept whole for visitors (photosite/pagecache.py) is checked
    # against them, so a change committed after they are read is never taken for older.
    album_version_read(album_id=album_id)
    album = selectors.album_get_for_viewer(album_id=album_id, viewer=request.user, share_token=share_token_of(request))
    is_owner = request.user.is_authenticated and album.owner_id == request.user.pk
    kept_for_visitors = album.visibility == Visibility.PUBLIC and not share_token_of(request)
    if kept_for_visitors:
        person_listings_version_read(owner_id=album.owner_id)  # its photos leave with their owner's scope
    # The link's token stays on the grid's next pages ("More photos" and infinite scroll).
    listing = listing_album(album=album, viewer=request.user, share_token=share_token_of(request))
    context = {
        "album": album,
        "is_owner": is_owner,
        "share_url": (
            request.build_absolute_uri(selectors.album_share_path(album=album))
            if is_owner and album.visibility == Visibility.UNLISTED
            else ""
        ),
        "preview": album_link_preview(request, album),
    }
    if kept_for_visitors:
        page_cache_allow(request)
    return listing_response(request, listing, template="albums/detail.html", context=context)


@login_required
@require_http_methods(["GET", "POST"])
def album_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AlbumForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # "New album with this photo" on a photo page sends the photo along.
        photo_ids = _photo_ids(request) or []
        try:
            album = services.album_create(owner=request.user, photo_ids=photo_ids, **form.cleaned_data)
        except services.AlbumRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, gettext("Album “%(title)s” created.") % {"title": album.title})
            return redirect("album_edit", album_id=album.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "albums/form.html", {"form": form, "title": gettext("New album")}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def album_edit(request: AuthenticatedHttpRequest, album_id: int) -> HttpResponse:
    """Rename, and arrange: order, cover, remove, add. Every button is a plain form, so it works without scripts."""
    album = selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    initial = {"title": album.title, "description": album.description, "visibility": album.visibility}
    form = AlbumForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.album_update(album=album, **form.cleaned_data)
            except services.AlbumRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                messages.success(request, gettext("Saved."))
                return redirect("album_edit", album_id=album.pk)
        status = 400
    context = {
        "album": album,
        "form": form,
        "share_url": (
            request.build_absolute_uri(selectors.album_share_path(album=album))
            if album.visibility == Visibility.UNLISTED
            else ""
        ),
        "entries": selectors.album_entries_for_owner(album=album),
        "addable": selectors.photos_addable_to_album(album=album),
    }
    return render(request, "albums/edit.html", context, status=status)


def _photo_ids(request: HttpRequest) -> list[int] | None:
    photo_ids = [number_from_text(value) for value in request.POST.getlist("photo")]
    if not photo_ids or None in photo_ids:
        return None
    return [photo_id for photo_id in photo_ids if photo_id is not None]


@login_required
@require_POST
def album_arrange(request: AuthenticatedHttpRequest, album_id: int) -> HttpResponse:
    """One change to the album's photos: action is add, remove, earlier, later, cover or order."""
    album = selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    action = request.POST.get("action", "")
    photo_ids = _photo_ids(request)
    if photo_ids is None:
        return _refuse(request, album, gettext("Choose at least one photo."))
    try:
        if action == "add":
            added = services.album_add_photos(album=album, photo_ids=photo_ids)
            messages.success(
                request,
                ngettext("Added %(count)d photo to “%(title)s”.", "Added %(count)d photos to “%(title)s”.", added)
                % {"count": added, "title": album.title},
            )
        elif action == "remove":
            services.album_remove_photo(album=album, photo_id=photo_ids[0])
        elif action in ("earlier", "later"):
            services.album_move_photo(album=album, photo_id=photo_ids[0], offset=-1 if action == "earlier" else 1)
        elif action == "cover":
            services.album_set_cover(album=album, photo_id=photo_ids[0])
            messages.success(request, gettext("Cover chosen."))
        elif action == "order":
            services.album_reorder(album=album, photo_ids=photo_ids)
        else:
            return _refuse(request, album, gettext("Unknown action: use add, remove, earlier, later, cover or order."))
    except services.AlbumRefused as refusal:
        return _refuse(request, album, str(refusal))
    return redirect_back(request, reverse("album_edit", args=[album.pk]))


def _refuse(request: HttpRequest, album: Album, message: str) -> HttpResponse:
    context = {
        "title": gettext("The album was not changed"),
        "message": message,
        "back_url": reverse("album_edit", args=[album.pk]),
    }
    return render(request, "error.html", context, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def album_delete(request: AuthenticatedHttpRequest, album_id: int) -> HttpResponse:
    album = selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    if request.method == "POST":
        services.album_delete(album=album)
        messages.success(
            request,
            gettext("Deleted the album “%(title)s”. Its photos are still on your page.") % {"title": album.title},
        )
        return redirect(reverse("profile", args=[request.user.username]) + "#albums")
    return render(request, "albums/delete.html", {"album": album})


@login_required
@require_POST
def album_add_photo(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The photo page's "Add to album": which album comes in the form, not the URL."""
    album_id = number_from_text(request.POST.get("album", ""))
    if album_id is None:
        context = {"title": gettext("The album was not changed"), "message": gettext("Choose an album.")}
        return render(request, "error.html", context, status=400)
    album = selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    return album_arrange(request, album.pk)

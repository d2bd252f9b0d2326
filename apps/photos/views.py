"""HTML views for photos: parse input, call one service or selector, render."""

from __future__ import annotations

import json
import mimetypes
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import User
from apps.accounts.selectors import people_matching
from apps.albums.selectors import album_choices_for_owner
from apps.photos import selectors, services, uploads
from apps.photos.caching import listing_version_read
from apps.photos.forms import PhotoDetailsForm, PhotoEditForm, PhotoUploadForm
from apps.photos.models import Licence, Photo, Rendition, Visibility, stored_name
from apps.photos.pages import (
    json_error,
    json_form_errors,
    listing_response,
    photo_for_embed,
    photo_link_preview,
    preview_rendition,
    share_query,
    share_token_of,
)
from apps.photos.tags import TagsRejected
from apps.social import selectors as social
from photosite.http import AuthenticatedHttpRequest, number_from_text, wants_json
from photosite.pagecache import page_cache_allow
from photosite.ratelimit import write_limited
from photosite.storage import (
    AVATAR_PREFIX,
    IMMUTABLE,
    PUBLIC_PREFIX,
    StorageUnavailable,
    local_signature_valid,
    media_url,
)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return listing_response(
        request,
        selectors.listing_recent(),
        template="photos/home.html",
        context={"unfinished": selectors.photo_list_unfinished_for_owner(owner=request.user), "tab": "recent"},
    )


@require_GET
def explore(request: HttpRequest) -> HttpResponse:
    return listing_response(
        request, selectors.listing_popular(), template="photos/explore.html", context={"tab": "popular"}
    )


@login_required
@require_GET
def feed(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Called by the template only when the feed is empty: no query otherwise.
    suggestions = partial(social.people_to_follow, viewer=request.user)
    return listing_response(
        request,
        selectors.listing_feed(viewer=request.user),
        template="photos/explore.html",
        context={"tab": "feed", "people_to_follow": suggestions},
    )


@require_GET
def tag(request: HttpRequest, name: str) -> HttpResponse:
    if name != name.lower():
        return redirect("tag", name=name.lower(), permanent=True)
    try:
        listing = selectors.listing_tag(name=name)
    except TagsRejected:
        raise Http404("No such tag.") from None
    return listing_response(
        request,
        listing,
        template="photos/tag.html",
        context={"tag": name, "photo_count": selectors.tag_photo_count(name=name)},
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[: selectors.SEARCH_MAX_LENGTH]
    try:
        filters = selectors.search_filters_from(request.GET)
    except selectors.SearchFiltersRejected as rejection:
        refused = {
            "query": query,
            "filters": selectors.SearchFilters(),
            "filter_error": str(rejection),
            "licences": Licence.choices,
        }
        return render(request, "photos/search.html", refused, status=400)
    if not query and not filters:
        return render(request, "photos/search.html", {"query": "", "filters": filters, "licences": Licence.choices})
    context: dict[str, object] = {
        "query": query,
        "filters": filters,
        "licences": Licence.choices,
        "people": people_matching(query=query) if query and not filters else [],
    }
    listing = selectors.listing_search(query=query, viewer=request.user, filters=filters)
    return listing_response(request, listing, template="photos/search.html", context=context)


@require_GET
def photo_detail(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = selectors.photo_get_for_viewer(photo_id=photo_id, viewer=request.user, share_token=share_token_of(request))
    is_owner = request.user.is_authenticated and photo.owner_id == request.user.pk
    is_unlisted = photo.visibility == Visibility.UNLISTED
    try:
        listing = selectors.listing_named(name=request.GET.get("from", ""), viewer=request.user)
    except TagsRejected as rejection:
        back_url = reverse("photo_detail", args=[photo.pk])
        broken_link = {"title": gettext("Broken link"), "message": str(rejection), "back_url": back_url}
        return render(request, "error.html", broken_link, status=400)
    if not share_token_of(request) and (listing is None or listing.shared):
        # The same for every visitor (an unlisted photo's page, opened by its link, is never shared).
        if listing is not None:
            listing_version_read(listing=listing)  # before its previous and next are read: they leave with it
        page_cache_allow(request)
    previous_id, next_id = listing.neighbours(photo) if listing else (None, None)
    counts = social.photo_counts(photo_id=photo.pk)  # live, apart from the cached card
    context = {
        "photo": photo,
        "counts": counts,
        "is_owner": is_owner,
        # The page's forms carry the unlisted link's token on; the owner is shown the link.
        "share_query": share_query(request),
        "share_url": (
            request.build_absolute_uri(selectors.photo_share_path(photo=photo)) if is_owner and is_unlisted else ""
        ),
        "listing": listing,
        "previous_id": previous_id,
        "next_id": next_id,
        "liked": social.photo_liked_by(photo=photo, viewer=request.user),
        "following_owner": not is_owner and social.user_is_followed_by(person=photo.owner, viewer=request.user),
        # With no comments, only a signed-in viewer can have one to see (their own, hidden by a moderator).
        "comments": (
            social.comment_list_for_photo(photo=photo, viewer=request.user)
            if counts.comments or request.user.is_authenticated
            else []
        ),
        # The albums it is in that the viewer may see listed: a private or unlisted album's
        # name (and link) is its owner's to hand out.
        "albums": [
            album for album in selectors.photo_albums_of(photo) if is_owner or album.visibility == Visibility.PUBLIC
        ],
        # The owner as a User: when is_owner, request.user is the photo's (already loaded) owner.
        "my_albums": album_choices_for_owner(owner=photo.owner, without_photo=photo) if is_owner else [],
        "preview": photo_link_preview(request, photo),
    }
    return render(request, "photos/detail.html", context)


@require_GET
def oembed(request: HttpRequest) -> HttpResponse:
    """oEmbed (https://oembed.com) for photo pages: `?url=<photo page>&format=json`, with
    maxwidth/maxheight. 404 for anything not everyone holding that url may see."""
    if request.GET.get("format", "json") != "json":
        return json_error(gettext("Only format=json is offered."), status=501)
    url = request.GET.get("url", "")
    if not url or len(url) > 2000:
        return json_error(gettext("Give the url of a photo page: ?url=…"))
    bounds = {name: request.GET.get(name, "") for name in ("maxwidth", "maxheight")}
    numbers = {name: number_from_text(text) if text else 0 for name, text in bounds.items()}
    if any(number is None for number in numbers.values()):
        return json_error(gettext("maxwidth and maxheight are numbers of pixels."))
    photo = photo_for_embed(url=url, host=request.get_host())
    rendition = preview_rendition(photo, max_width=numbers["maxwidth"] or 0, max_height=numbers["maxheight"] or 0)
    if rendition is None:
        raise Http404("No such photo.")
    owner_url = request.build_absolute_uri(reverse("profile", args=[photo.owner.username]))
    response = JsonResponse(
        {
            "version": "1.0",
            "type": "photo",
            "title": photo.title,
            "author_name": photo.owner.shown_name,
            "author_url": owner_url,
            "provider_name": "photosite",
            "provider_url": request.build_absolute_uri(reverse("home")),
            "url": request.build_absolute_uri(rendition.url),
            "width": rendition.width,
            "height": rendition.height,
            "cache_age": 3600,
        }
    )
    # Not for shared caches: a photo made private must stop embedding at once.
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_http_methods(["GET", "POST"])
@write_limited("upload")
def photo_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The upload page; its script sends each file on its own (direct to S3 when configured),
    and without JavaScript the form below posts here, one file at a time."""
    albums = album_choices_for_owner(owner=request.user)
    if request.method == "GET":
        return render(request, "photos/upload.html", {"form": PhotoUploadForm(albums=albums), "albums": albums})
    declared_length = int(request.META.get("CONTENT_LENGTH") or 0)  # well-formed: see photosite.errors
    if uploads.upload_body_too_big(content_length=declared_length):
        # Refuse before Django reads (and spools to disk) a body we would reject anyway.
        error = uploads.upload_too_big_message()
        if wants_json(request):
            return json_error(error, status=413)
        context = {"form": PhotoUploadForm(albums=albums), "albums": albums, "error": error}
        return render(request, "photos/upload.html", context, status=413)
    form = PhotoUploadForm(request.POST, request.FILES, albums=albums)
    if form.is_valid():
        try:
            photo = services.photo_create(
                owner=request.user,
                upload=form.cleaned_data["file"],
                title=form.cleaned_data["title"],
                caption=form.cleaned_data["caption"],
                alt_text=form.cleaned_data["alt_text"],
                visibility=form.cleaned_data["visibility"],
                tags=form.cleaned_data["tags"],
                album_id=form.cleaned_data["album"],
            )
        except uploads.DuplicateUpload as duplicate:
            existing_url = reverse("photo_detail", args=[duplicate.photo_id])
            if wants_json(request):
                return json_error(str(duplicate), status=409, existing_url=existing_url)
            context = {"form": form, "albums": albums, "error": str(duplicate), "existing_url": existing_url}
            return render(request, "photos/upload.html", context, status=409)
        except uploads.UploadRejected as rejection:
            form.add_error("file", str(rejection))
        except StorageUnavailable as outage:
            if wants_json(request):
                return json_error(str(outage), status=503)
            return render(
                request, "photos/upload.html", {"form": form, "albums": albums, "error": str(outage)}, status=503
            )
        else:
            if wants_json(request):
                return JsonResponse({"id": photo.pk, "url": reverse("photo_detail", args=[photo.pk])}, status=201)
            messages.success(request, gettext("Uploaded. Your photo will appear once it is processed."))
            return redirect("photo_detail", photo_id=photo.pk)
    if wants_json(request):
        return json_form_errors(form)
    return render(request, "photos/upload.html", {"form": form, "albums": albums}, status=400)


def _json_body(request: HttpRequest) -> dict[str, object] | None:
    if len(request.body) > 64 * 1024:
        return None
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


@login_required
@require_POST
@write_limited("upload_grant")
def upload_direct_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Hand the browser a presigned POST for one file, after checking its declared size."""
    body = _json_body(request)
    if body is None:
        return json_error("Send a JSON object with the file's name and size.")
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return json_error("Send the file's size in bytes.")
    try:
        grant = uploads.direct_upload_grant(owner_id=request.user.pk, size=size)
    except uploads.UploadRejected as rejection:
        return json_error(str(rejection), status=413 if isinstance(rejection, uploads.UploadTooBig) else 400)
    if grant is None:
        return json_error("Direct uploads need S3; post the file to the upload page instead.", status=404)
    return JsonResponse(grant.as_json())


@login_required
@require_POST
@write_limited("upload")
def upload_direct_complete(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The browser's file is in storage: check it by content and record the photo."""
    body = _json_body(request)
    if body is None:
        return json_error("Send a JSON object with the upload token and the photo's details.")
    try:
        incoming_key = uploads.direct_upload_claim(owner_id=request.user.pk, token=str(body.get("token", "")))
    except uploads.GrantInvalid as refusal:
        return json_error(str(refusal), status=403)
    details = PhotoDetailsForm(body, albums=album_choices_for_owner(owner=request.user))
    if not details.is_valid():
        return json_form_errors(details)
    fields = dict(details.cleaned_data)
    try:
        photo = services.photo_create_from_incoming(
            owner=request.user,
            incoming_key=incoming_key,
            filename=str(body.get("filename", ""))[:255],
            album_id=fields.pop("album"),
            **fields,
        )
    except uploads.GrantInvalid as refusal:  # GrantUsed: another request completed it meanwhile
        return json_error(str(refusal), status=403)
    except uploads.DuplicateUpload as duplicate:
        existing_url = reverse("photo_detail", args=[duplicate.photo_id])
        return json_error(str(duplicate), status=409, existing_url=existing_url)
    except uploads.UploadRejected as rejection:
        return json_error(str(rejection))
    except StorageUnavailable as outage:
        return json_error(str(outage), status=503)
    return JsonResponse({"id": photo.pk, "url": reverse("photo_detail", args=[photo.pk])}, status=201)


@login_required
@require_http_methods(["GET", "POST"])
def photo_edit(request: AuthenticatedHttpRequest, photo_id: int) -> HttpResponse:
    photo = selectors.photo_get_for_owner(photo_id=photo_id, owner=request.user)
    form = PhotoEditForm(request.POST or None, instance=photo)
    if request.method == "POST":
        if form.is_valid():
            services.photo_update(photo=photo, **form.cleaned_data)
            messages.success(request, gettext("Saved."))
            return redirect("photo_detail", photo_id=photo.pk)
        return render(request, "photos/edit.html", {"form": form, "photo": photo}, status=400)
    return render(request, "photos/edit.html", {"form": form, "photo": photo})


@login_required
@require_http_methods(["GET", "POST"])
def photo_delete(request: AuthenticatedHttpRequest, photo_id: int) -> HttpResponse:
    photo = selectors.photo_get_for_owner(photo_id=photo_id, owner=request.user)
    if request.method == "POST":
        services.photo_delete(photo_id=photo.pk)
        messages.success(request, gettext("Deleted “%(title)s”.") % {"title": photo.title})
        return redirect("home")
    return render(request, "photos/delete.html", {"photo": photo})


@login_required
@require_GET
def photo_original(request: AuthenticatedHttpRequest, photo_id: int) -> HttpResponse:
    """The owner's own upload, as sent: a short-lived signed URL (or the checked local view)."""
    photo = selectors.photo_get_for_owner(photo_id=photo_id, owner=request.user)
    response = redirect(media_url(stored_name(photo.original)))
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def photo_retry(request: AuthenticatedHttpRequest, photo_id: int) -> HttpResponse:
    photo = selectors.photo_get_for_owner(photo_id=photo_id, owner=request.user)
    services.photo_retry_renditions(photo=photo)
    return redirect("photo_detail", photo_id=photo.pk)


@require_GET
def local_media(request: HttpRequest, name: str) -> FileResponse:
    """Embedded mode's stand-in for S3: serves a stored file only to whoever may see its photo."""
    if name.startswith(AVATAR_PREFIX):
        if not User.objects.filter(avatar_key=name).exists():
            raise Http404("No such file.")
    else:
        rendition = Rendition.objects.select_related("photo").filter(file=name).first()
        photo = rendition.photo if rendition else Photo.objects.filter(original=name).first()
        if photo is None:
            raise Http404("No such file.")
        # A rendition under public/ is reachable by its random key alone on S3 (an unlisted
        # photo's too, by whoever holds its link): the same here.
        if not local_signature_valid(name, request.GET.get("sig", "")):  # a signed URL opens as on S3
            token = selectors.photo_share_token(photo=photo) if name.startswith(PUBLIC_PREFIX) else ""
            viewable = selectors.photo_get_for_viewer(photo_id=photo.pk, viewer=request.user, share_token=token)
            if rendition is None and viewable.owner_id != request.user.pk:
                raise Http404("No such file.")  # originals are for their owner only
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404("No such file.") from None  # a row whose file is gone: storage_sweep reports it
    response = FileResponse(handle, content_type=mimetypes.guess_type(name)[0])
    if name.startswith(PUBLIC_PREFIX):
        response["Cache-Control"] = IMMUTABLE
    else:
        response["Cache-Control"] = "private, max-age=3600"
    return response

"""HTML views for photos: parse input, call one service or selector, render."""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.photos import selectors, services
from apps.photos.forms import PhotoEditForm, PhotoUploadForm
from apps.photos.models import Photo, Rendition
from photosite import cache
from photosite.storage import IMMUTABLE, PUBLIC_PREFIX

# Room for the form fields and multipart framing on top of the file itself.
UPLOAD_OVERHEAD_BYTES = 1024 * 1024


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # The grid shows public photos only and nothing about the viewer, so its HTML is
    # cached once for everyone; rendering 48 cards costs more than fetching them.
    grid = cache.get_or_compute(
        selectors.home_grid_key("html"),
        lambda: render_to_string("photos/_grid.html", {"photos": selectors.photo_list_home()}),
        ttl=selectors.HOME_GRID_TTL,
        stale_ttl=selectors.HOME_GRID_STALE_TTL,
    )
    return render(
        request,
        "photos/home.html",
        {"grid": mark_safe(grid), "unfinished": selectors.photo_list_unfinished_for_owner(owner=request.user)},  # noqa: S308
    )


@require_GET
def photo_detail(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = selectors.photo_get_for_viewer(photo_id=photo_id, viewer=request.user)
    is_owner = request.user.is_authenticated and photo.owner_id == request.user.pk
    return render(request, "photos/detail.html", {"photo": photo, "is_owner": is_owner})


@login_required
@require_http_methods(["GET", "POST"])
def photo_upload(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "photos/upload.html", {"form": PhotoUploadForm()})
    declared_length = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared_length > settings.PHOTO_MAX_UPLOAD_BYTES + UPLOAD_OVERHEAD_BYTES:
        # Refuse before Django reads (and spools to disk) a body we would reject anyway.
        error = f"The file is too big; the limit is {filesizeformat(settings.PHOTO_MAX_UPLOAD_BYTES)}."
        return render(request, "photos/upload.html", {"form": PhotoUploadForm(), "error": error}, status=413)
    form = PhotoUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            photo = services.photo_create(
                owner=request.user,  # type: ignore[arg-type]
                upload=form.cleaned_data["file"],
                title=form.cleaned_data["title"],
                caption=form.cleaned_data["caption"],
                alt_text=form.cleaned_data["alt_text"],
                visibility=form.cleaned_data["visibility"],
            )
        except services.UploadRejected as rejection:
            form.add_error("file", str(rejection))
        else:
            messages.success(request, "Uploaded. Your photo will appear once it is processed.")
            return redirect("photo_detail", photo_id=photo.pk)
    return render(request, "photos/upload.html", {"form": form}, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def photo_edit(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = selectors.photo_get_for_owner(photo_id=photo_id, owner=request.user)
    form = PhotoEditForm(request.POST or None, instance=photo)
    if request.method == "POST":
        if form.is_valid():
            services.photo_update(photo=photo, **form.cleaned_data)
            messages.success(request, "Saved.")
            return redirect("photo_detail", photo_id=photo.pk)
        return render(request, "photos/edit.html", {"form": form, "photo": photo}, status=400)
    return render(request, "photos/edit.html", {"form": form, "photo": photo})


@login_required
@require_http_methods(["GET", "POST"])
def photo_delete(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = selectors.photo_get_for_owner(photo_id=photo_id, owner=request.user)
    if request.method == "POST":
        services.photo_delete(photo_id=photo.pk)
        messages.success(request, f"Deleted “{photo.title}”.")
        return redirect("home")
    return render(request, "photos/delete.html", {"photo": photo})


@login_required
@require_POST
def photo_retry(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = selectors.photo_get_for_owner(photo_id=photo_id, owner=request.user)
    services.photo_retry_renditions(photo=photo)
    return redirect("photo_detail", photo_id=photo.pk)


@require_GET
def local_media(request: HttpRequest, name: str) -> HttpResponse:
    """Embedded mode's stand-in for S3: serves a stored file only to whoever may see its photo."""
    rendition = Rendition.objects.select_related("photo").filter(file=name).first()
    photo = rendition.photo if rendition else Photo.objects.filter(original=name).first()
    if photo is None:
        raise Http404("No such file.")
    viewable = selectors.photo_get_for_viewer(photo_id=photo.pk, viewer=request.user)
    if rendition is None and viewable.owner_id != request.user.pk:
        raise Http404("No such file.")  # originals are for their owner only
    response = FileResponse(default_storage.open(name, "rb"), content_type=mimetypes.guess_type(name)[0])
    if name.startswith(PUBLIC_PREFIX):
        response["Cache-Control"] = IMMUTABLE
    else:
        response["Cache-Control"] = "private, max-age=3600"
    return response

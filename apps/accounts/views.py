from allauth.account.adapter import get_adapter
from allauth.account.views import LoginView as AllauthLoginView
from allauth.account.views import SignupView as AllauthSignupView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts import selectors, services
from apps.accounts.forms import AccountDeleteForm, AccountSettingsForm, ApiTokenForm, ProfileForm
from apps.accounts.models import ExportStatus, User
from apps.albums.selectors import album_list_for_owner
from apps.notifications.services import NotificationRefused, notification_digest_set
from apps.photos import selectors as photo_selectors
from apps.photos.caching import person_listings_version_read
from apps.photos.pages import listing_response, profile_link_preview
from apps.photos.uploads import UploadRejected
from apps.social.selectors import person_counts, user_is_followed_by
from photosite.http import AuthenticatedHttpRequest
from photosite.ratelimit import write_limited
from photosite.storage import StorageUnavailable, download_url

EXPORT_LINK_SALT = "accounts.export-download"


class LoginView(AllauthLoginView):
    """allauth's login page; a refusal is a 400, and a 429 once the attempts for this name or
    address are spent (then even the right password waits)."""

    def form_invalid(self, form: Form) -> HttpResponse:
        response: HttpResponse = super().form_invalid(form)
        throttled = any(error.code == "too_many_login_attempts" for error in form.non_field_errors().as_data())
        response.status_code = 429 if throttled else 400
        return response


class SignupView(AllauthSignupView):
    def form_invalid(self, form: Form) -> HttpResponse:
        response: HttpResponse = super().form_invalid(form)
        response.status_code = 400
        return response


login = LoginView.as_view()
signup = SignupView.as_view()


@require_GET
def profile(request: HttpRequest, username: str) -> HttpResponse:
    """A person's page: their picture, counts, albums and photo grid (cached for visitors)."""
    person = get_object_or_404(User, username=username, is_active=True)
    is_owner = request.user.is_authenticated and request.user.pk == person.pk
    listing = photo_selectors.listing_user(owner=person, viewer=request.user)
    # Before the albums are read: a page kept whole for visitors is checked against it.
    person_listings_version_read(owner_id=person.pk)
    albums = album_list_for_owner(owner=person, viewer=request.user)
    context = {
        "person": person,
        "is_owner": is_owner,
        "following": not is_owner and user_is_followed_by(person=person, viewer=request.user),
        "albums": albums,
        "photo_count": photo_selectors.photo_count_for_profile(owner=person, viewer=request.user),
        "counts": person_counts(user_id=person.pk),  # live, from the counters
        "preview": profile_link_preview(request, person),
    }
    return listing_response(request, listing, template="accounts/profile.html", context=context)


@require_GET
def timeline(request: HttpRequest, username: str) -> HttpResponse:
    """A person's photos by when they were taken, grouped by month, with year and month jumps."""
    person = get_object_or_404(User, username=username, is_active=True)
    month_text = request.GET.get("month", "")
    month = photo_selectors.month_from_text(month_text)
    if month_text and month is None:
        back = {
            "title": gettext("Broken page link"),
            "message": gettext("Give the month as YYYY-MM."),
            "back_url": request.path,
        }
        return render(request, "error.html", back, status=400)
    listing = photo_selectors.listing_timeline(owner=person, viewer=request.user, month=month)
    context = {
        "person": person,
        "is_owner": request.user.is_authenticated and request.user.pk == person.pk,
        "years": photo_selectors.timeline_months(owner=person, viewer=request.user),
        "month": month,
    }
    return listing_response(
        request,
        listing,
        template="accounts/timeline.html",
        context=context,
        items_template="accounts/_timeline_items.html",
    )


@login_required
@require_GET
def liked(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The photos you liked, newest like first."""
    listing = photo_selectors.listing_liked(viewer=request.user)
    return listing_response(request, listing, template="photos/explore.html", context={"tab": "liked"})


@login_required
@require_http_methods(["GET", "POST"])
@write_limited("profile")  # each save may decode a new avatar
def profile_edit(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    initial = {"display_name": user.display_name, "bio": user.bio, "default_licence": user.default_licence}
    form = ProfileForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.profile_update(user=user, **form.cleaned_data)
            except UploadRejected as rejection:
                form.add_error("avatar", str(rejection))
            except StorageUnavailable as outage:
                form.add_error(None, str(outage))
                status = 503
            else:
                messages.success(request, gettext("Profile saved."))
                return redirect("profile", username=user.username)
    return render(request, "accounts/profile_edit.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """One page for everything about the account: email, password, 2FA, tokens, export, deletion;
    POST saves the email digest choice, which is also on the notifications page."""
    from allauth.mfa.utils import is_mfa_enabled

    form = AccountSettingsForm(request.POST or None, initial={"notification_digest": request.user.notification_digest})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                notification_digest_set(user=request.user, frequency=form.cleaned_data["notification_digest"])
            except NotificationRefused as refusal:
                form.add_error("notification_digest", str(refusal))
            else:
                messages.success(request, gettext("Email digest saved."))
                return redirect("account_settings")
    context = {
        "mfa_enabled": is_mfa_enabled(request.user),
        "export": selectors.data_export_latest_for_user(user=request.user),
        "settings_form": form,
    }
    return render(request, "accounts/settings.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The person's API tokens; POST makes one, whose key is shown on this response only."""
    form = ApiTokenForm(request.POST or None)
    new_key = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                _, new_key = services.api_token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    lifetime=form.cleaned_data["lifetime_days"],
                )
            except services.TokenRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                status = 201
                form = ApiTokenForm()
    context = {"form": form, "tokens": selectors.api_token_list_for_user(user=request.user), "new_key": new_key}
    response = render(request, "accounts/api_tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the new key must not linger in a cache
    return response


@login_required
@require_POST
def api_token_revoke(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    if services.api_token_revoke(user=request.user, token_id=token_id):
        messages.success(request, gettext("Token revoked: it no longer works."))
    return redirect("api_tokens")


@login_required
@require_http_methods(["GET", "POST"])
def data_export(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Ask for a zip of your data (built by a job); once ready, a signed link that expires."""
    if request.method == "POST":
        try:
            services.data_export_request(user=request.user)
        except services.ExportRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(
                request, gettext("We are preparing your export. This page shows the link when it is ready.")
            )
        return redirect("data_export")
    export = selectors.data_export_latest_for_user(user=request.user)
    link = None
    if export is not None and export.status == ExportStatus.READY:
        link = reverse(
            "data_export_download", args=[signing.TimestampSigner(salt=EXPORT_LINK_SALT).sign(str(export.pk))]
        )
    return render(request, "accounts/export.html", {"export": export, "link": link})


@login_required
@require_GET
def data_export_download(request: AuthenticatedHttpRequest, signed: str) -> HttpResponseBase:
    """The export's signed link: only its owner, only until it expires; the bytes come from storage."""
    try:
        export_id = int(
            signing.TimestampSigner(salt=EXPORT_LINK_SALT).unsign(signed, max_age=settings.EXPORT_LINK_HOURS * 3600)
        )
    except (signing.BadSignature, ValueError) as error:
        raise Http404("This link has expired. Ask for a new export.") from error
    export = selectors.data_export_for_owner(export_id=export_id, user=request.user)
    if export is None or export.status != ExportStatus.READY or not export.key:
        raise Http404("This export no longer exists.")
    url = download_url(export.key)
    if url is not None:
        return HttpResponseRedirect(url)
    filename = services.export_file_name(export)
    return FileResponse(default_storage.open(export.key, "rb"), as_attachment=True, filename=filename)


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Delete the account after the password is typed again; everything the person made goes with it."""
    form = AccountDeleteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                # allauth's check counts failures like logins do, so a borrowed session cannot guess on.
                confirmed = get_adapter(request).reauthenticate(request.user, form.cleaned_data["password"])
            except ValidationError as throttled:
                form.add_error("password", throttled)
                status = 429
            else:
                if confirmed:
                    services.account_delete(user_id=request.user.pk)
                    logout(request)
                    messages.success(request, gettext("Your account and everything in it have been deleted."))
                    return redirect("home")
                form.add_error("password", "That is not your password.")
    return render(request, "accounts/delete.html", {"form": form}, status=status)

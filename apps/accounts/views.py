from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts import services
from apps.accounts.forms import ProfileForm, SignupForm
from apps.accounts.models import User
from apps.albums.selectors import album_list_for_owner
from apps.photos import selectors as photo_selectors
from apps.photos.pages import listing_response
from apps.photos.uploads import UploadRejected
from apps.social.selectors import user_is_followed_by
from photosite.http import AuthenticatedHttpRequest
from photosite.storage import StorageUnavailable


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("home")
        return render(request, "accounts/signup.html", {"form": form}, status=400)
    return render(request, "accounts/signup.html", {"form": form})


@require_GET
def profile(request: HttpRequest, username: str) -> HttpResponse:
    """A person's page: their picture, counts, albums and photo grid (cached for visitors)."""
    person = get_object_or_404(User, username=username, is_active=True)
    is_owner = request.user.is_authenticated and request.user.pk == person.pk
    listing = photo_selectors.listing_user(owner=person, viewer=request.user)
    context = {
        "person": person,
        "is_owner": is_owner,
        "following": not is_owner and user_is_followed_by(person=person, viewer=request.user),
        "albums": album_list_for_owner(owner=person, viewer=request.user),
        "photo_count": photo_selectors.photo_count_for_profile(owner=person, viewer=request.user),
    }
    return listing_response(request, listing, template="accounts/profile.html", context=context)


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    initial = {"display_name": user.display_name, "bio": user.bio}
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
                messages.success(request, "Profile saved.")
                return redirect("profile", username=user.username)
    return render(request, "accounts/profile_edit.html", {"form": form}, status=status)

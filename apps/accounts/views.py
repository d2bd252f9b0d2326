from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.forms import SignupForm
from apps.accounts.models import User
from apps.photos import selectors as photo_selectors
from photosite import cache


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
    """A person's page. Visitors share one cached grid (public photos only); the owner's is never cached."""
    person = get_object_or_404(User, username=username, is_active=True)
    is_owner = request.user.is_authenticated and request.user.pk == person.pk

    def grid() -> str:
        photos = photo_selectors.photo_list_for_profile(owner=person, viewer=request.user)
        return render_to_string("photos/_grid.html", {"photos": photos})

    html = (
        grid()
        if is_owner
        else cache.get_or_compute(
            photo_selectors.profile_grid_key(owner_id=person.pk), grid, ttl=photo_selectors.HOME_GRID_TTL
        )
    )
    return render(request, "accounts/profile.html", {"person": person, "grid": mark_safe(html), "is_owner": is_owner})  # noqa: S308

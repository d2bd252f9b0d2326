"""The notifications page: newest news first, unread ones highlighted, then marked read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from apps.notifications import selectors, services
from apps.notifications.forms import DigestForm
from photosite.http import AuthenticatedHttpRequest
from photosite.pagination import BadCursor


@login_required
@require_GET
def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Shown as they were (unread ones highlighted), then the shown ones are marked read, so
    the header's count already drops on this page and a later page keeps its own news."""
    cursor = request.GET.get("after") or None
    try:
        page = selectors.notification_page(user=request.user, cursor=cursor)
    except BadCursor as error:
        refusal = {"title": gettext("Broken page link"), "message": error.message, "back_url": reverse("notifications")}
        return render(request, "error.html", refusal, status=400)
    items = selectors.notification_views(notifications=page.items, viewer=request.user)
    services.notifications_mark_read(user=request.user, ids=[item.id for item in items if item.unread])
    context = {
        "items": items,
        "next_url": f"{reverse('notifications')}?after={page.next_cursor}" if page.next_cursor else None,
        "digest_form": DigestForm(initial={"notification_digest": request.user.notification_digest}),
    }
    return render(request, "notifications/list.html", context)


@login_required
@require_POST
def notifications_read(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.notifications_mark_read(user=request.user, through=timezone.now())
    messages.success(request, gettext("All notifications marked read."))
    return redirect("notifications")


@login_required
@require_POST
def notification_digest(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = DigestForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "error.html",
            {"title": gettext("Not saved"), "message": gettext("Choose off or daily.")},
            status=400,
        )
    try:
        services.notification_digest_set(user=request.user, frequency=form.cleaned_data["notification_digest"])
    except services.NotificationRefused as refusal:
        return render(
            request,
            "error.html",
            {"title": gettext("Not saved"), "message": str(refusal), "back_url": reverse("notifications")},
            status=400,
        )
    messages.success(request, gettext("Email digest saved."))
    return redirect("notifications")

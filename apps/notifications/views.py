"""The notifications page: newest news first, unread ones highlighted. Fetching it changes
nothing (link previews, prefetching and a second tab GET it too): a POST marks news read,
from the page's script once the page is on screen, or from its "Mark all read" button."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from apps.notifications import selectors, services
from apps.notifications.forms import DigestForm, MarkReadForm
from photosite.http import AuthenticatedHttpRequest, wants_json
from photosite.pagination import BadCursor


@login_required
@require_GET
def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Shown as they are, unread ones highlighted and counted in the header, until the reader
    marks them read (notifications_read)."""
    cursor = request.GET.get("after") or None
    try:
        page = selectors.notification_page(user=request.user, cursor=cursor)
    except BadCursor as error:
        refusal = {"title": gettext("Broken page link"), "message": error.message, "back_url": reverse("notifications")}
        return render(request, "error.html", refusal, status=400)
    items = selectors.notification_views(notifications=page.items, viewer=request.user)
    context = {
        "items": items,
        "shown_at": timezone.now(),
        "unread_ids": [item.id for item in items if item.unread],
        "next_url": f"{reverse('notifications')}?after={page.next_cursor}" if page.next_cursor else None,
        "digest_form": DigestForm(initial={"notification_digest": request.user.notification_digest}),
    }
    return render(request, "notifications/list.html", context)


@login_required
@require_POST
def notifications_read(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Mark read what the reader's page showed: the unread ones on it (`ids`, from the page's
    script once it is on screen, answered with the count left as JSON), or every notification
    as of when the page was made (its "Mark all read" button)."""
    form = MarkReadForm(request.POST)
    if not form.is_valid():
        message = gettext("The form was broken. Reload the page and try again.")
        if wants_json(request):
            return JsonResponse({"error": message}, status=400)
        refusal = {"title": gettext("Not marked read"), "message": message, "back_url": reverse("notifications")}
        return render(request, "error.html", refusal, status=400)
    # Never past when the page was made: a grouped notification that someone new reopened since
    # (a second like on the same photo) is news the reader has not seen, even under a shown id.
    now = timezone.now()
    through = min(form.cleaned_data["through"] or now, now)
    services.notifications_mark_read(user=request.user, ids=form.cleaned_data["ids"] or None, through=through)
    if wants_json(request):
        return JsonResponse({"unread": request.user.unread_notification_count})
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

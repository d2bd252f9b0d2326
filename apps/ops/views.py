"""Operator-only pages: the dashboard, and a deliberate error to check Sentry."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from apps.ops import charts, selectors
from apps.ops.tasks import SentryCheckError, sentry_check
from apps.photos.services import photos_retry_failed
from photosite.broker import queue_stats
from photosite.health import readiness


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Business figures and system health; `?partial=1` is the body its script swaps in every 10 s."""
    figures = selectors.business_figures()
    queues = queue_stats()
    waited = queues["oldest_waiting_seconds"]
    context = {
        "figures": figures,
        "chart": charts.bar_chart_svg(figures["uploads_per_day"]),
        "likes_chart": charts.bar_chart_svg(figures["likes_per_day"], height=120, label=gettext("likes")),
        "comments_chart": charts.bar_chart_svg(figures["comments_per_day"], height=120, label=gettext("comments")),
        "readiness": readiness()[0],
        "redis": selectors.redis_figures(),
        "queues": queues,
        "queue_rows": [
            {"name": name, **counts, "oldest_waiting_seconds": waited.get(name, 0.0)}
            for name, counts in queues["queues"].items()
        ],
        "hosts": selectors.host_figures(),
    }
    template = "ops/_dashboard_body.html" if request.GET.get("partial") else "ops/dashboard.html"
    return render(request, template, context)


@staff_member_required
@require_POST
def retry_failed(request: HttpRequest) -> HttpResponse:
    count = photos_retry_failed(hours=24)
    messages.success(
        request,
        ngettext(
            "Queued %(count)d failed photo to render again.", "Queued %(count)d failed photos to render again.", count
        )
        % {"count": count},
    )
    return redirect("ops_dashboard")


@staff_member_required
def sentry_check_view(request: HttpRequest) -> HttpResponse:
    """Fail on purpose (`?in=job`: in a worker) so an operator can confirm errors reach Sentry."""
    if request.GET.get("in") == "job":
        sentry_check.send()
        return JsonResponse({"queued": "sentry_check"}, status=202)
    raise SentryCheckError(
        "Sentry check from a web request: if you can read this in Sentry, the web tier reports errors."
    )

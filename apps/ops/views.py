"""Operator-only pages."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.ops.tasks import SentryCheckError, sentry_check


@staff_member_required
def sentry_check_view(request: HttpRequest) -> HttpResponse:
    """Fail on purpose (`?in=job`: in a worker) so an operator can confirm errors reach Sentry."""
    if request.GET.get("in") == "job":
        sentry_check.send()
        return JsonResponse({"queued": "sentry_check"}, status=202)
    raise SentryCheckError(
        "Sentry check from a web request: if you can read this in Sentry, the web tier reports errors."
    )

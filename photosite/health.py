"""Probes for the load balancer and the orchestrator."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No I/O, so a slow dependency never gets us killed."""
    return JsonResponse({"status": "ok"})

"""The API's error format, without Django REST framework: Django's own error handlers use it
for /api/ paths, and they are registered in every process, rendition workers included, which
would otherwise import DRF's serializers (and through them requests, yaml and pygments:
about 6 MB a worker) for nothing."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse


def error_body(status_code: int, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"status": status_code, "message": message, "fields": fields or {}}}


def error_page(request: HttpRequest, status_code: int, message: str) -> JsonResponse:
    """Django's own error handlers for /api/ paths (registered in ApiConfig.ready()): errors
    no API view caught, such as a bug (500) or a route that does not exist (404), in the
    API's format instead of the site's HTML page."""
    return JsonResponse(error_body(status_code, message), status=status_code)

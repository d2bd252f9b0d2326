"""The framework's ceiling: Django with no middleware, no database, one tiny view (and `/json`,
the same for a JSON answer: what an API endpoint is measured against)."""

from __future__ import annotations

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="bare-benchmark",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)
django.setup()


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<!doctype html><title>hello</title><p>Hello, world.</p>")


def hello_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"results": [{"id": 1, "title": "Hello, world."}], "next": None})


urlpatterns = [path("", hello), path("json", hello_json), path("healthz", hello)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

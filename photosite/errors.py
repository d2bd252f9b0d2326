"""Error pages in the site's layout, with a message a person can act on.

An app with an error format of its own (the API's JSON) registers it for its paths
with `error_page_register` in AppConfig.ready(), so Django's 400/403/404/500 handlers,
which run for errors no view caught (a bug, a missing route), answer in that format.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

# (request, status, message) -> the response, for every path under a registered prefix.
ErrorPage = Callable[[HttpRequest, int, str], HttpResponse]
_error_pages: dict[str, ErrorPage] = {}

SERVER_ERROR_MESSAGE = "Something went wrong on our side. It has been logged; please try again later."


def error_page_register(*, path_prefix: str, page: ErrorPage) -> None:
    """Answer Django's error handlers under `path_prefix` (e.g. "/api/") with `page`."""
    _error_pages[path_prefix] = page


def _registered_error_page(request: HttpRequest, status: int, message: str) -> HttpResponse | None:
    for prefix, page in _error_pages.items():
        if request.path_info.startswith(prefix):
            return page(request, status, message)
    return None


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    registered = _registered_error_page(request, status, message)
    if registered is not None:
        return registered
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, gettext("Bad request"), gettext("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, gettext("Not allowed"), gettext("You do not have permission to do that."))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 404, gettext("Not found"), gettext("This page does not exist, or it is not shared with you.")
    )


def server_error(request: HttpRequest) -> HttpResponse:
    # Django has already logged the error (and Sentry has it) before this runs.
    registered = _registered_error_page(request, 500, SERVER_ERROR_MESSAGE)
    if registered is not None:
        return registered
    # No template context processors that could fail again: render the bare template.
    from django.template import loader

    body = loader.get_template("500.html").render()
    return HttpResponse(body, status=500)


class RejectMalformedRequests:
    """Early in MIDDLEWARE, 400s for requests no view could handle safely:

    - a Content-Length that is not a number (django-prometheus and the upload view read it with int());
    - a NUL byte in the path or query string (PostgreSQL text cannot hold one, so any
      lookup by it would fail as a 500; forms and serializers already refuse it in bodies).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit():
            return HttpResponse("Malformed Content-Length header.\n", status=400, content_type="text/plain")
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return HttpResponse("NUL characters are not allowed in URLs.\n", status=400, content_type="text/plain")
        return self.get_response(request)

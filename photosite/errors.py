"""Error pages in the site's layout, with a message a person can act on."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "Bad request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "Not allowed", "You do not have permission to do that.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "Not found", "This page does not exist, or it is not shared with you.")


def server_error(request: HttpRequest) -> HttpResponse:
    # No template context processors that could fail again: render the bare template.
    from django.template import loader

    body = loader.get_template("500.html").render()
    return HttpResponse(body, status=500)

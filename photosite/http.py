"""Small request/response helpers the views share (the pages' scripts ask for JSON; the
probes and metrics tell operators from the public)."""

from __future__ import annotations

import ipaddress
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.request import Request

if TYPE_CHECKING:
    # For the annotation only: photosite/ never imports an app at run time (house rule 4).
    from apps.accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind `login_required` (or the admin, or `staff_member_required`) gets.

    Only a type: Django builds a plain HttpRequest. Annotating such a view's request with it
    says what the decorator guarantees, so `request.user` is our User, not `User | AnonymousUser`.
    """

    user: User


class AuthenticatedApiRequest(Request):
    """The same for a REST API view whose permission classes demand a signed-in user."""

    user: User


# Far past any id (a bigint has 19 digits; the ORM finds no row for a larger one), far
# short of the 4,300 digits int() refuses.
NUMBER_MAX_DIGITS = 100


def number_from_text(text: str) -> int | None:
    """A whole number typed into a query string or form (an id, a page size): ASCII digits only, else None.

    str.isdigit() alone also accepts "²", which int() refuses, and int() refuses more
    than 4,300 digits: each was a 500.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > NUMBER_MAX_DIGITS:
        return None
    return int(text)


def request_is_from_operators(request: HttpRequest) -> bool:
    """Whether the request may see operators' details (/metrics, /readyz's checks).

    Yes from an address in METRICS_ALLOWED_NETWORKS (loopback by default: someone on
    the box, or Prometheus beside it) or with `Authorization: Bearer $METRICS_TOKEN`.
    The address is the one that connected: a proxy on the same box (make stack's nginx)
    makes everyone it forwards look local, so deployments behind one use the token.
    """
    token = settings.METRICS_TOKEN
    if token and secrets.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in settings.METRICS_ALLOWED_NETWORKS)


def wants_json(request: HttpRequest) -> bool:
    """The page's script sent this (Accept: application/json); a plain form post did not."""
    return "application/json" in request.headers.get("Accept", "")


def redirect_back(request: HttpRequest, default: str) -> HttpResponse:
    """To the form's `next` if it is on this site (never an open redirect), else to `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)

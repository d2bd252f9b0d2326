"""Who a request is (`AuthenticationMiddleware`), and staff reach the admin and the operators'
pages only with a second factor (`StaffSecondFactorMiddleware`).

A staff member without TOTP is sent to set it up; one who has it but signed in to this
session without using it (an older session, or one that set TOTP up just now) is asked for
a code. STAFF_MFA_REQUIRED=false (embedded mode only) turns this off.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import middleware as auth_middleware
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy

from apps.accounts.authentication import cached_session_user
from apps.accounts.models import User

SETUP_MESSAGE = gettext_lazy(
    "Staff need two-factor authentication to use the admin and the operators' pages. Set it up here."
)


def session_used_second_factor(request: HttpRequest, user: User) -> bool:
    """Whether this session's sign-in (or a later confirmation) included a TOTP or recovery code."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, user))


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with the session's user row read by `apps.accounts.authentication.session_user`:
    the same checks, without building the ORM query on every request."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # its checks and `request.auser`
        stand_in = SimpleLazyObject(lambda: cached_session_user(request))
        request.user = request._session_user_stand_in = stand_in  # type: ignore[assignment, attr-defined]


class StaffSecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self.refusal(request)
        return refusal if refusal is not None else self.get_response(request)

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not (settings.STAFF_MFA_REQUIRED and isinstance(user, User) and user.is_staff):
            return None
        path = request.path_info
        protected = (reverse("admin:index"), reverse("ops_dashboard"))
        if not path.startswith(protected) or path == reverse("admin:logout"):
            return None
        back = urlencode({"next": request.get_full_path()})
        if not is_mfa_enabled(user, [Authenticator.Type.TOTP]):
            messages.info(request, SETUP_MESSAGE)
            return HttpResponseRedirect(f"{reverse('mfa_activate_totp')}?{back}")
        if not session_used_second_factor(request, user):
            return HttpResponseRedirect(f"{reverse('mfa_reauthenticate')}?{back}")
        return None

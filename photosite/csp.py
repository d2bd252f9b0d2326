"""The Content-Security-Policy headers (django-csp), built once per process and policy.

django-csp's middleware builds its header from the settings on every response: it copies
every directive, sorts, deduplicates and joins them, twice (the enforced policy and the
report-only one), about 4% of a signed-in page (bench/pages.py --profile). For a response
that names no policy of its own (django-csp's @csp_update, @csp_replace and @csp_override
decorators) the header depends only on the settings and on the request's nonce, so it is
built once with a stand-in where the nonce goes, and each response gets its own request's
nonce put in. The nonce itself is django-csp's: 16 fresh random bytes a request, made only
when something asks for `request.csp_nonce`. A response with a policy of its own is built
by django-csp as before. A change of either setting (override_settings in tests) drops
what was built.
"""

from __future__ import annotations

from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase

POLICY_SETTINGS = {False: "CONTENT_SECURITY_POLICY", True: "CONTENT_SECURITY_POLICY_REPORT_ONLY"}
# What django-csp's decorators set on a response: any of them, and django-csp builds the header.
PER_RESPONSE_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
NONCE_STAND_IN = "photosite-csp-nonce-stand-in"  # no real nonce (base64) or source contains it
DEBUG_EXEMPT_STATUSES = (404, 500)  # django-csp leaves Django's debug pages alone


class BuiltPolicy:
    """One header (the enforced or the report-only policy) as the settings give it."""

    def __init__(self, *, report_only: bool) -> None:
        self.name = HEADER_REPORT_ONLY if report_only else HEADER
        self.exempt_attribute = "_csp_exempt_ro" if report_only else "_csp_exempt"
        self.without_nonce = build_policy(report_only=report_only)
        # The header with a nonce, cut where it goes: one piece more than the directives naming it.
        self.around_nonce = build_policy(nonce=NONCE_STAND_IN, report_only=report_only).split(NONCE_STAND_IN)
        policy = getattr(settings, POLICY_SETTINGS[report_only], None) or {}
        self.excluded_prefixes = tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())

    def header_for(self, nonce: str | None) -> str:
        return nonce.join(self.around_nonce) if nonce else self.without_nonce


_built: list[BuiltPolicy] = []  # the enforced and the report-only policy, once built


def built_policies() -> list[BuiltPolicy]:
    if not _built:
        _built[:] = [BuiltPolicy(report_only=False), BuiltPolicy(report_only=True)]
    return _built


@receiver(setting_changed)
def _policy_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in POLICY_SETTINGS.values():
        _built.clear()


class CSPMiddleware(LibraryCSPMiddleware):
    """django-csp's, with the headers of responses without a policy of their own built once."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if any(getattr(response, name, None) is not None for name in PER_RESPONSE_POLICY):
            return super().process_response(request, response)
        if response.status_code in DEBUG_EXEMPT_STATUSES and settings.DEBUG:
            return response
        nonce = getattr(request, "_csp_nonce", None)
        for policy in built_policies():
            header = policy.header_for(nonce)
            if (
                header
                and getattr(response, policy.exempt_attribute, False) is False
                and policy.name not in response
                and not request.path_info.startswith(policy.excluded_prefixes)
            ):
                response[policy.name] = header
        if nonce is None:
            # As django-csp: a nonce asked for after the header went out would be in no header.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response

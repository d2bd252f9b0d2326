"""One error format for the whole API: {"error": {"status", "message", "fields"}}.

DRF's own errors (validation, auth, throttling) and our services' refusals all come
out the same way, so a client needs one parser.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.accounts.services import TokenRefused
from apps.albums.services import AlbumRefused
from apps.api.error_pages import error_body
from apps.moderation.services import ReportRefused
from apps.photos.tags import TagsRejected
from apps.photos.uploads import DuplicateUpload, UploadRejected
from apps.social.services import SocialRefused
from photosite.pagination import BadCursor
from photosite.storage import StorageUnavailable

REFUSALS = (AlbumRefused, ReportRefused, SocialRefused, TagsRejected, TokenRefused, UploadRejected, BadCursor)


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DuplicateUpload):  # a conflict with a photo the client may want: its id
        body = error_body(409, str(exc))
        body["error"]["existing_id"] = exc.photo_id
        return Response(body, status=409)
    if isinstance(exc, REFUSALS):
        message = exc.message if isinstance(exc, BadCursor) else str(exc)
        return Response(error_body(400, message), status=400)
    if isinstance(exc, StorageUnavailable):
        return Response(error_body(503, str(exc)), status=503)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: a 500 that reaches Sentry, answered by error_page
    fields: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        fields = {
            name: [str(item) for item in (errors if isinstance(errors, list) else [errors])]
            for name, errors in exc.detail.items()
        }
    message = _first_message(exc.detail) if isinstance(exc, exceptions.APIException) else "Error."
    if fields and response.status_code == status.HTTP_400_BAD_REQUEST:
        name, errors = next(iter(fields.items()))
        message = errors[0] if name == "non_field_errors" else f"{name}: {errors[0]}"
    response.data = error_body(response.status_code, message, fields)
    return response

"""Keyset ("cursor") pagination: the next page starts after the last row seen, never at an OFFSET.

A listing is ordered by a few fields ending in a unique one (e.g. `-created_at, -id`);
the cursor is the last row's values for them, base64'd JSON. Page 1000 costs what page
one costs, and rows inserted meanwhile neither repeat nor vanish across pages.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)


class BadCursor(ValueError):
    """The cursor was not made by us (edited, truncated, or from another listing)."""

    message = "This page link is broken; go back to the first page."


# Ours are under 100 characters; a cap keeps decoding cheap whatever is sent.
CURSOR_MAX_LENGTH = 512


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    next_cursor: str | None


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        try:
            moment = datetime.fromisoformat(value["t"])
        except (KeyError, TypeError, ValueError):
            raise BadCursor(BadCursor.message) from None
        if moment.tzinfo is None:  # we only ever encode aware datetimes
            raise BadCursor(BadCursor.message)
        try:
            # The database compares in UTC: year 1 at +14:00 has no UTC time (OverflowError).
            return moment.astimezone(UTC)
        except OverflowError:
            raise BadCursor(BadCursor.message) from None
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadCursor(BadCursor.message)
    if isinstance(value, float) and not math.isfinite(value):  # "1e999" parses as infinity
        raise BadCursor(BadCursor.message)
    return value


def _refuse_constant(name: str) -> Any:
    # json.loads takes NaN and Infinity by default; no field of ours can hold them.
    raise BadCursor(BadCursor.message)


def cursor_encode(values: list[Any]) -> str:
    raw = json.dumps([_encode_value(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str, *, length: int) -> list[Any]:
    if len(cursor) > CURSOR_MAX_LENGTH:
        raise BadCursor(BadCursor.message)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw, parse_constant=_refuse_constant)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):  # deep nesting: RecursionError
        raise BadCursor(BadCursor.message) from None
    if not isinstance(values, list) or len(values) != length:
        raise BadCursor(BadCursor.message)
    return [_decode_value(value) for value in values]


def _field(order: str) -> str:
    return order.lstrip("-")


def after_filter(ordering: tuple[str, ...], values: list[Any], *, reverse: bool = False) -> Q:
    """Rows strictly after `values` in `ordering` (before them when `reverse`), lexicographically."""
    condition = Q()
    equal_so_far = Q()
    for order, value in zip(ordering, values, strict=True):
        descending = order.startswith("-") != reverse
        step = Q(**{f"{_field(order)}__{'lt' if descending else 'gt'}": value})
        condition |= equal_so_far & step
        equal_so_far &= Q(**{_field(order): value})
    return condition


def reversed_ordering(ordering: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(order[1:] if order.startswith("-") else f"-{order}" for order in ordering)


def keyset_values(item: Model, ordering: tuple[str, ...]) -> list[Any]:
    return [getattr(item, _field(order)) for order in ordering]


def keyset_page(queryset: QuerySet[M], *, ordering: tuple[str, ...], cursor: str | None, limit: int) -> Page[M]:
    """One page of `queryset` in `ordering`, starting after `cursor` (raises BadCursor)."""
    if cursor:
        values = cursor_decode(cursor, length=len(ordering))
        try:
            # A well-formed cursor can still hold a value of the wrong kind for its field
            # ("abc" for a time): the field refuses it here, while the filter is built.
            queryset = queryset.filter(after_filter(ordering, values))
        except (ValidationError, ValueError, TypeError, OverflowError):
            raise BadCursor(BadCursor.message) from None
    # One row more than shown tells whether a next page exists without a COUNT.
    items = list(queryset.order_by(*ordering)[: limit + 1])
    if len(items) <= limit:
        return Page(items=items, next_cursor=None)
    items = items[:limit]
    return Page(items=items, next_cursor=cursor_encode(keyset_values(items[-1], ordering)))

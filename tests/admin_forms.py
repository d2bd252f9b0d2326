"""Submit a Django admin change form as a browser would: every field as the page shows it,
with the changes given."""

from __future__ import annotations

import re
from html import unescape
from typing import Any


def _attributes(text: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in re.findall(r'([\w-]+)="([^"]*)"', text)}


def form_fields(page: str) -> dict[str, Any]:
    """The values a browser would post from the page's form (checked boxes, selected options)."""
    data: dict[str, Any] = {}
    for tag in re.finditer(r"<input\b[^>]*>", page):
        attributes = _attributes(tag.group(0))
        name, kind = attributes.get("name"), attributes.get("type", "text")
        if not name or kind in ("submit", "button", "file"):
            continue
        if kind in ("checkbox", "radio") and "checked" not in tag.group(0):
            continue
        data[name] = attributes.get("value", "on" if kind in ("checkbox", "radio") else "")
    for select in re.finditer(r"<select\b([^>]*)>(.*?)</select>", page, re.S):
        name = _attributes(select.group(1)).get("name")
        chosen = [
            _attributes(option)["value"] for option in re.findall(r"<option\b[^>]*selected[^>]*>", select.group(2))
        ]
        if name:
            data[name] = chosen if "multiple" in select.group(1) else (chosen[0] if chosen else "")
    for area in re.finditer(r"<textarea\b([^>]*)>(.*?)</textarea>", page, re.S):
        name = _attributes(area.group(1)).get("name")
        if name:
            data[name] = unescape(area.group(2)).lstrip("\n")
    return data


def submit_change(client, url: str, *, drop: tuple[str, ...] = (), **changes: Any):
    data = form_fields(client.get(url).content.decode())
    for name in drop:
        data.pop(name, None)  # an unticked box is not sent
    data.update(changes)
    data.pop("_addanother", None)
    data.pop("_continue", None)
    return client.post(url, data)

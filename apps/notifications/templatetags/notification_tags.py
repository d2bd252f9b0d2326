"""Comment text with its @mentions as links to the people's pages."""

from __future__ import annotations

import re

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import normalize_newlines

from apps.notifications.mentions import MENTION

register = template.Library()


@register.filter
def with_mentions(text: str) -> SafeString:
    """`text` escaped, line breaks as <br>, and each @name a link to /accounts/people/name/.

    Escaping first keeps the comment's own markup inert; a name is only letters, digits and
    . + - _, so it needs no escaping inside the link. A name nobody has links to a 404,
    as a typed profile address would.
    """

    def link(match: re.Match[str]) -> str:
        name = match.group(1)
        return f'<a class="mention" href="{reverse("profile", args=[name])}">@{name}</a>'

    escaped = escape(normalize_newlines(text))
    linked = MENTION.sub(link, escaped)
    return mark_safe(linked.replace("\n", "<br>"))  # noqa: S308 (escaped above; links built from \w names)

"""Parts of the page shell (templates/base.html) that are the same on every page in a language."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()
_rendered: dict[str, SafeString] = {}  # language -> the block, per process: translations change only on deploy


@register.simple_tag
def js_strings() -> SafeString:
    """templates/_js_strings.html (the scripts' words) in the active language, rendered once
    per language and process: 35 translations, the same on every page, were a third of the
    `{% translate %}` work of every page (bench/pages.py --profile). Rendered each time
    with DEBUG, so an edited template shows at once."""
    language = get_language()
    block = _rendered.get(language)
    if block is None or settings.DEBUG:
        block = SafeString(render_to_string("_js_strings.html"))
        _rendered[language] = block
    return block

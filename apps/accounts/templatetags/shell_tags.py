"""`{% once %}`: a stretch of the page shell (templates/base.html) rendered once per process.

The header and footer around every page are mostly links, words and static files that are
the same for everyone in a language: 12 `{% url %}`, 20 `{% translate %}` and 5 `{% static %}`
tags a page were a quarter of a signed-in home page's time (bench/pages.py --profile). A
stretch between `{% once %}` and `{% endonce %}` is rendered the first time and kept, per
language, URL prefix and the values named in the tag:

    {% once tab=tab signed_in=user.is_authenticated %} ... {% endonce %}

It sees only those names (not the request, the user or the page's context), so nothing
per-person can be kept into it by mistake: an unnamed variable renders empty on every page,
which the shell's tests notice. Named values are keys, so few and hashable (a tab, a flag). With
DEBUG it renders every time, so an edited template shows at once.

`{% csrf_input %}`: Django's `{% csrf_token %}` field, its token masked with one read of the
system's random source instead of 32 (see `csrf_token_masked`).
"""

from __future__ import annotations

import os
import weakref

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.middleware import csrf
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

KEPT_PER_STRETCH = 64  # distinct (language, prefix, values) a stretch keeps; more means a named value varies too much
SHELL_KEY = "shell_tags.script_prefix"  # in a render's render_context: looked up once a page


_stretches: weakref.WeakSet[OnceNode] = weakref.WeakSet()


@receiver(setting_changed)
def _stretches_forget(**kwargs: object) -> None:
    """A stretch may hold any setting's effect (STATIC_URL in a link, LANGUAGES in a menu)."""
    for stretch in list(_stretches):
        stretch.kept.clear()


class OnceNode(template.Node):
    # Opaque to get_nodes_by_type: `{% extends %}` walks the parent template's whole node tree
    # for its blocks on every render (6% of a signed-in page), and a stretch holds no block
    # (`once` refuses one), so the walk need not enter it.
    child_nodelists = ()

    def __init__(self, nodelist: NodeList, named: dict[str, FilterExpression]) -> None:
        self.nodelist = nodelist
        self.named = named
        self.kept: dict[tuple[object, ...], SafeString] = {}
        _stretches.add(self)

    def render(self, context: Context) -> SafeString:
        values = {name: expression.resolve(context) for name, expression in self.named.items()}
        prefix = context.render_context.get(SHELL_KEY)
        if prefix is None:
            prefix = context.render_context[SHELL_KEY] = get_script_prefix()
        # The language each time: a `{% language %}` block may change it within one page.
        key = (get_language(), prefix, *values.values())
        rendered = self.kept.get(key)
        if rendered is None or settings.DEBUG:
            # A context of its own: only the named values reach the stretch (no context processors).
            rendered = SafeString(self.nodelist.render(context.new(values)))
            if len(self.kept) >= KEPT_PER_STRETCH:
                self.kept.clear()
            self.kept[key] = rendered
        return rendered


@register.tag
def once(parser: Parser, token: Token) -> OnceNode:
    named: dict[str, FilterExpression] = {}
    for argument in token.split_contents()[1:]:
        name, equals, expression = argument.partition("=")
        if not equals or not name.isidentifier():
            raise template.TemplateSyntaxError(f"{{% once %}} takes name=value pairs, not {argument!r}")
        named[name] = parser.compile_filter(expression)
    nodelist = parser.parse(("endonce",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        # A block's content comes from the page, so it cannot be kept (and the walk above skips it).
        raise template.TemplateSyntaxError("{% once %} cannot hold a {% block %}")
    return OnceNode(nodelist, named)


CSRF_CHARS = csrf.CSRF_ALLOWED_CHARS
CSRF_CHAR_INDEX = {char: index for index, char in enumerate(CSRF_CHARS)}
CSRF_UNBIASED_BELOW = 256 - 256 % len(CSRF_CHARS)  # random bytes from here up would favour some characters


def csrf_token_masked(request: HttpRequest) -> str:
    """What Django's `get_token` returns: the request's CSRF secret masked with a fresh random
    mask (mask + cipher, each CSRF_SECRET_LENGTH characters of CSRF_ALLOWED_CHARS), so a page's
    token differs on every response (BREACH) and Django's own check accepts it.

    Django draws the mask one character at a time from `secrets`, 32 reads of the system's
    random source (300 us of a signed-in page under load); this draws the same uniform mask
    from one read, discarding the bytes that would bias it. Without a secret yet (no CSRF
    cookie), Django's `get_token` makes one and has it set as a cookie.
    """
    secret = request.META.get("CSRF_COOKIE")
    if not isinstance(secret, str) or len(secret) != csrf.CSRF_SECRET_LENGTH:
        return csrf.get_token(request)
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # as get_token: the cookie's expiry renewed
    length = len(CSRF_CHARS)
    mask: list[int] = []
    while len(mask) < csrf.CSRF_SECRET_LENGTH:
        mask += [byte % length for byte in os.urandom(2 * csrf.CSRF_SECRET_LENGTH) if byte < CSRF_UNBIASED_BELOW]
    mask = mask[: csrf.CSRF_SECRET_LENGTH]
    cipher = [CSRF_CHARS[(CSRF_CHAR_INDEX[char] + shift) % length] for char, shift in zip(secret, mask, strict=True)]
    return "".join(CSRF_CHARS[shift] for shift in mask) + "".join(cipher)


@register.simple_tag(takes_context=True)
def csrf_input(context: Context) -> SafeString:
    """`{% csrf_token %}`'s hidden field, with `csrf_token_masked`'s token."""
    return format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', csrf_token_masked(context["request"])
    )

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
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context
from django.urls import get_script_prefix
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

KEPT_PER_STRETCH = 64  # distinct (language, prefix, values) a stretch keeps; more means a named value varies too much


class OnceNode(template.Node):
    def __init__(self, nodelist: NodeList, named: dict[str, FilterExpression]) -> None:
        self.nodelist = nodelist
        self.named = named
        self.kept: dict[tuple[object, ...], SafeString] = {}

    def render(self, context: Context) -> SafeString:
        values = {name: expression.resolve(context) for name, expression in self.named.items()}
        key = (get_language(), get_script_prefix(), *values.values())
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
    return OnceNode(nodelist, named)

"""`{% extends %}` finds the root template's blocks once per compiled template
(photosite/template_extends.py): pages built on it render as Django's own tag renders them,
every time, with blocks overridden, `block.super` and a chain of templates."""

from __future__ import annotations

import pytest
from django.template import Context, Engine, TemplateSyntaxError
from django.template.loader_tags import ExtendsNode

from photosite.template_extends import ExtendsOnceWalkedNode

TEMPLATES = {
    "root.html": "<title>{% block title %}site{% endblock %}</title>{% block body %}root body{% endblock %}"
    "{% block footer %}root footer{% endblock %}",
    "section.html": '{% extends "root.html" %}{% block body %}section [{% block inner %}{% endblock %}]{% endblock %}',
    "page.html": '{% extends "section.html" %}{% block title %}{{ name }} · {{ block.super }}{% endblock %}'
    "{% block inner %}{{ name }}{% endblock %}",
}


def _engine(*, ours: bool) -> Engine:
    return Engine(
        loaders=[("django.template.loaders.locmem.Loader", TEMPLATES)],
        builtins=["photosite.template_extends"] if ours else [],
    )


def test_a_chain_of_templates_renders_as_with_djangos_own_tag_every_time() -> None:
    ours, django = _engine(ours=True), _engine(ours=False)
    page = ours.get_template("page.html")
    assert isinstance(page.nodelist[0], ExtendsOnceWalkedNode)
    expected = django.get_template("page.html").render(Context({"name": "Harbour"}))
    assert expected == "<title>Harbour · site</title>section [Harbour]root footer"
    for name in ("Harbour", "Pier", "Harbour"):  # the root's blocks, found once, serve every render
        assert page.render(Context({"name": name})) == expected.replace("Harbour", name)


def test_extends_twice_is_refused_as_django_refuses_it() -> None:
    bad = {"twice.html": '{% extends "root.html" %}{% extends "root.html" %}', **TEMPLATES}
    engine = Engine(loaders=[("django.template.loaders.locmem.Loader", bad)], builtins=["photosite.template_extends"])
    with pytest.raises(TemplateSyntaxError, match="cannot appear more than once"):
        engine.get_template("twice.html")


def test_the_sites_pages_use_it(client, db) -> None:
    from django.template import engines

    login = engines["django"].engine.get_template("account/login.html")  # type: ignore[attr-defined]
    assert isinstance(login.nodelist.get_nodes_by_type(ExtendsNode)[0], ExtendsOnceWalkedNode)
    assert client.get("/accounts/login/").status_code == 200

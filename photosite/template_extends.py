"""`{% extends %}` as Django's own, but for the walk it makes of the root template on every render.

Django's ExtendsNode finds the root template's `{% block %}`s by walking its whole node tree each
time a page extending it is rendered (`get_nodes_by_type(BlockNode)`): for base.html, about a
twentieth of a signed-in page's time. The blocks of a compiled template never change, so they
are found once per compiled template here, and every render adds the same dict to the block
context (BlockContext.add_blocks only reads it). Registered as a template builtin
(photosite/settings.py, TEMPLATES), after Django's, so `{% extends %}` everywhere is this one.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import Template, TextNode
from django.template.context import Context
from django.template.loader_tags import BLOCK_CONTEXT_KEY, BlockContext, BlockNode, ExtendsNode, do_extends
from django.utils.safestring import SafeString

register = template.Library()

ROOT_BLOCKS = "_photosite_root_blocks"  # where a compiled template keeps its blocks once found


def _root_blocks(compiled: Template) -> dict[str, BlockNode]:
    blocks: dict[str, BlockNode] | None = getattr(compiled, ROOT_BLOCKS, None)
    if blocks is None:
        found = compiled.nodelist.get_nodes_by_type(BlockNode)
        blocks = {node.name: node for node in found if isinstance(node, BlockNode)}
        setattr(compiled, ROOT_BLOCKS, blocks)
    return blocks


class ExtendsOnceWalkedNode(ExtendsNode):
    def render(self, context: Context) -> SafeString:
        """ExtendsNode.render (Django 5.2) line for line, the root's blocks from `_root_blocks`."""
        compiled_parent = self.get_parent(context)
        if BLOCK_CONTEXT_KEY not in context.render_context:
            context.render_context[BLOCK_CONTEXT_KEY] = BlockContext()
        block_context = context.render_context[BLOCK_CONTEXT_KEY]
        block_context.add_blocks(self.blocks)
        for node in compiled_parent.nodelist:  # the ExtendsNode has to be the first non-text node
            if not isinstance(node, TextNode):
                if not isinstance(node, ExtendsNode):  # the parent is the root
                    block_context.add_blocks(_root_blocks(compiled_parent))
                break
        with context.render_context.push_state(compiled_parent, isolated_context=False):
            return compiled_parent._render(context)  # type: ignore[attr-defined, no-any-return]  # as Django calls it


@register.tag("extends")
def extends(parser: Any, token: Any) -> ExtendsOnceWalkedNode:
    node = do_extends(parser, token)  # Django's parsing and checks
    return ExtendsOnceWalkedNode(node.nodelist, node.parent_name)

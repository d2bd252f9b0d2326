"""Tag parsing: what a person types in the tags field becomes a short list of tag names.

Bounded cost whatever is sent: the text is capped before it is split, and duplicates
are found with a set, so parsing is linear in the capped length.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext

MAX_TAGS = 20
TAG_MAX_LENGTH = 40
# Room for MAX_TAGS tags of the longest length with a "#" and a separator each.
TAGS_TEXT_MAX_LENGTH = MAX_TAGS * (TAG_MAX_LENGTH + 2)
TAG_SEPARATORS = re.compile(r"[\s,]+")
TAG_WORD = re.compile(r"^[\w-]+$")


class TagsRejected(ValueError):
    """Shown beside the tags field."""


def tag_name_check(name: str) -> str:
    """`name` if it could be a tag (as tags_parse keeps them), else TagsRejected saying why.

    For names that arrive on their own (an API filter, a link's `?from=tag:`): a tag page's
    URL cannot hold a "/", so such a name must be refused before a link to it is built.
    """
    if not TAG_WORD.fullmatch(name):
        raise TagsRejected(gettext("“%(word)s” is not a tag: use letters, digits, “-” and “_”.") % {"word": name[:40]})
    if len(name) > TAG_MAX_LENGTH:
        raise TagsRejected(f"“{name[:20]}…” is too long for a tag (at most {TAG_MAX_LENGTH} characters).")
    return name


def tags_parse(text: str) -> list[str]:
    """ "Sunset, #Beach  sea" -> ["sunset", "beach", "sea"]: lowercase, no duplicates, in order."""
    if len(text) > TAGS_TEXT_MAX_LENGTH:
        raise TagsRejected(
            gettext("Too much text for tags: at most %(tags)d tags of up to %(length)d characters.")
            % {"tags": MAX_TAGS, "length": TAG_MAX_LENGTH}
        )
    tags: dict[str, None] = {}  # ordered, with constant-time "seen already"
    for word in TAG_SEPARATORS.split(text):
        tag = word.lstrip("#").lower()
        if not tag or tag in tags:
            continue
        if not TAG_WORD.match(tag):
            raise TagsRejected(
                gettext("“%(word)s” is not a tag: use letters, digits, “-” and “_”.") % {"word": word[:40]}
            )
        if len(tag) > TAG_MAX_LENGTH:
            raise TagsRejected(
                gettext("“%(word)s…” is too long for a tag (at most %(length)d characters).")
                % {"word": word[:20], "length": TAG_MAX_LENGTH}
            )
        tags[tag] = None
        if len(tags) > MAX_TAGS:
            raise TagsRejected(gettext("At most %(tags)d tags per photo.") % {"tags": MAX_TAGS})
    return list(tags)

"""@mentions in comment text: found the same way where they notify (the worker) and where
they are shown as links (the comment's template filter)."""

from __future__ import annotations

import re

# A user name (Django's letters, digits and . + - _) after an @ that does not follow a word
# character: "@ann" and "(@ann)" mention, "ann@example.com" does not. A trailing dot ends
# the sentence, not the name.
MENTION = re.compile(r"(?<![\w.@+-])@(\w(?:[\w.+-]*\w)?)")
MENTIONS_PER_COMMENT = 10  # more than this in one comment notifies only the first ten


def mentioned_usernames(text: str) -> list[str]:
    """The distinct user names mentioned in `text`, in order, lowercased, at most MENTIONS_PER_COMMENT."""
    names: list[str] = []
    for match in MENTION.finditer(text):
        name = match.group(1).lower()
        if name not in names:
            names.append(name)
        if len(names) == MENTIONS_PER_COMMENT:
            break
    return names

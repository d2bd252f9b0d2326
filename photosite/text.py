"""Text that must stay on one line: titles and names, which are shown inside sentences, on
cards and in the plain-text emails the site sends (where a newline would let someone write
lines of their own into a mail to another person)."""

from __future__ import annotations

import re
import unicodedata

_BREAKS = re.compile(r"\s+")


def one_line(value: str) -> str:
    """`value` with line breaks, tabs and other control or format characters made single
    spaces, and no space at either end."""
    cleaned = "".join(" " if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} else char for char in value)
    return _BREAKS.sub(" ", cleaned).strip()

"""The page shell's parts kept per language (apps/photos/templatetags/page_tags.py)."""

from __future__ import annotations

import json


def _scripts_words(page: bytes) -> dict[str, str]:
    block = page.decode().split('<script type="application/json" id="js-strings">', 1)[1]
    words: dict[str, str] = json.loads(block.split("</script>", 1)[0])
    return words


def test_the_scripts_words_follow_each_pages_language(client, db) -> None:
    for _ in range(2):  # the second round reads what the first kept
        english = _scripts_words(client.get("/", HTTP_ACCEPT_LANGUAGE="en").content)
        german = _scripts_words(client.get("/", HTTP_ACCEPT_LANGUAGE="de").content)
        assert english["Photo viewer"] == "Photo viewer" and english["The file is empty."] == "The file is empty."
        assert german["Photo viewer"] == "Fotobetrachter" and german["The file is empty."] == "Die Datei ist leer."

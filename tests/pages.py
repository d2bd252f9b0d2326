"""Reading pages the way a browser would: the images and size links they show."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass
class SizeLink:
    url: str
    size: int
    width: int
    height: int


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.size_links: list[SizeLink] = []
        self._open_link: dict[str, str] | None = None
        self.csrf_token = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "img":
            self.images.append(attributes)
        elif tag == "a" and "data-size" in attributes:
            self._open_link = attributes
        elif tag == "input" and attributes.get("name") == "csrfmiddlewaretoken":
            self.csrf_token = attributes.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._open_link is not None and "×" in data:
            width, height = (int(part) for part in data.split("×"))
            self.size_links.append(SizeLink(self._open_link["href"], int(self._open_link["data-size"]), width, height))
            self._open_link = None


def parse_page(html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html)
    return parser

"""Responsive <picture> markup for a photo from its (prefetched) renditions, the shape a
grid card keeps, and what the fullscreen viewer (static/js/viewer.js) needs to show it."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from apps.photos.imaging import LEGACY_OUTPUT_FORMATS, OUTPUT_FORMATS
from apps.photos.models import Photo, Tag, Visibility
from apps.photos.selectors import CardRow, RenditionLike, renditions_of
from photosite.storage import media_urls

register = template.Library()
FALLBACK_FORMAT = "jpg"  # every browser reads it
# A <picture>'s <source>s before its JPEG <img>, best first: AVIF, then an older pipeline's
# WebP for a photo not re-rendered yet (renditions_rebuild), so its pages stay as light.
PICTURE_FORMATS = (*OUTPUT_FORMATS, *LEGACY_OUTPUT_FORMATS)
# The viewer shows AVIF where the browser reads it (its <source>), JPEG elsewhere.
VIEWER_FORMAT, VIEWER_EXTRA_FORMAT = FALLBACK_FORMAT, "avif"
# A grid row's height in CSS px, wide screens and phones (site.css, .grid --row-height): a
# card is about ratio × this wide, which its `sizes` tells the browser before layout.
ROW_HEIGHT, ROW_HEIGHT_NARROW = 260, 120
CARD_MAX_SIZE = 640  # a card's largest rendition: about two row heights at 2x


def _srcset(renditions: list[RenditionLike]) -> str:
    return ", ".join(f"{rendition.url} {rendition.width}w" for rendition in renditions)


@register.inclusion_tag("photos/_img.html")
def photo_img(
    photo: Photo, sizes: str, max_size: int = 4096, css_class: str = "", eager: bool = False
) -> dict[str, object]:
    by_format: dict[str, list[RenditionLike]] = {}
    for rendition in renditions_of(photo):
        if rendition.size <= max_size:
            by_format.setdefault(rendition.format, []).append(rendition)
    fallbacks = by_format.get(FALLBACK_FORMAT, [])
    sources = [
        {"type": output.mime_type, "srcset": _srcset(by_format[output.name])}
        for output in PICTURE_FORMATS
        if output.name != FALLBACK_FORMAT and output.name in by_format
    ]
    return {
        "photo": photo,
        "fallback": fallbacks[-1] if fallbacks else None,
        "srcset": _srcset(fallbacks),
        "sources": sources,
        "sizes": sizes,
        "css_class": css_class,
        "eager": eager,
    }


@register.filter
def renditions_in(photo: Photo, fmt: str) -> list[RenditionLike]:
    return [rendition for rendition in renditions_of(photo) if rendition.format == fmt]


@register.filter
def tags_of(photo: Photo) -> list[Tag]:
    """The photo's tags by name, from the prefetched (cached) card."""
    return sorted(photo.tags.all(), key=lambda tag: tag.name)


def _largest(photo: Photo) -> RenditionLike | None:
    """The biggest rendition in the fallback format: its width and height are the photo as
    shown (EXIF orientation applied), unlike the original's as stored."""
    fallbacks = renditions_in(photo, FALLBACK_FORMAT)
    return fallbacks[-1] if fallbacks else None


@register.filter
def card_shape(photo: Photo) -> dict[str, str]:
    """A grid card's aspect ratio and `sizes`, from the stored dimensions (no query: the
    renditions are prefetched). Text, not numbers: a localized "1,5" would break the CSS."""
    largest = _largest(photo)
    width, height = (largest.width, largest.height) if largest else (photo.original_width, photo.original_height)
    ratio = min(max(width / height, 0.25), 4.0) if width and height else 4 / 3  # panoramas wrap, not vanish
    # Rows stretch to fill the width, by up to about half: ask for a little more than the row height.
    sizes = f"(max-width: 600px) {round(ratio * ROW_HEIGHT_NARROW * 1.5)}px, {round(ratio * ROW_HEIGHT * 1.5)}px"
    return {"ratio": f"{ratio:.4f}", "sizes": sizes}


@register.simple_tag
def viewer_attributes(photo: Photo) -> SafeString:
    """data-viewer-* attributes: every size of the photo for the fullscreen viewer, and the
    largest one's pixel size (its "full resolution", where zooming stops)."""
    largest = _largest(photo)
    if largest is None:
        return SafeString("")
    by_format: dict[str, list[RenditionLike]] = {}
    for rendition in renditions_of(photo):
        by_format.setdefault(rendition.format, []).append(rendition)
    main = by_format.get(VIEWER_FORMAT) or by_format[FALLBACK_FORMAT]
    extra = by_format.get(VIEWER_EXTRA_FORMAT, [])
    return format_html(
        'data-viewer data-viewer-width="{}" data-viewer-height="{}" data-viewer-srcset="{}"{} '
        'data-viewer-title="{}" data-viewer-owner="{}"',
        largest.width,
        largest.height,
        _srcset(main),
        format_html(' data-viewer-avif="{}"', _srcset(extra)) if extra else "",
        photo.title,
        photo.owner.shown_name,
    )


@register.filter
def visibility_badge(photo: Photo | CardRow) -> str:
    """What an owner's grid card says about a photo others do not see there ("" when public)."""
    if photo.hidden_at is not None:
        return gettext("Hidden by moderators")
    badges = {Visibility.PRIVATE: gettext("Private"), Visibility.UNLISTED: gettext("Unlisted")}
    return badges.get(Visibility(photo.visibility), "")


@register.filter
def listing_kind(name: str) -> str:
    """A listing's kind: its name before a colon (or a filtered search's "?"): recent, popular,
    feed, liked, tag, user, timeline, album or search."""
    return name.partition(":")[0].partition("?")[0]


_PHOTO_ID_MARK = 987654321  # stands for each card's photo id in the path reversed once
_photo_paths: dict[tuple[str, str | None], str] = {}


def _photo_path(photo_id: int) -> str:
    """reverse("photo_detail", args=[photo_id]), with the path reversed once per script prefix
    and URLconf: 48 reverses a grid page were a twentieth of a cold home render."""
    where = (get_script_prefix(), get_urlconf())
    path = _photo_paths.get(where)
    if path is None:
        path = _photo_paths[where] = reverse("photo_detail", args=[_PHOTO_ID_MARK])
    return path.replace(str(_PHOTO_ID_MARK), str(int(photo_id)))


# A rendition as a card uses it: (size, format, width, height, URL escaped for HTML), smallest first.
_CardImage = tuple[int, str, int, int, str]


@register.simple_tag
def photo_cards(photos: Sequence[Photo | CardRow], from_name: str) -> SafeString:
    """Every card of a grid page (photos/_grid_items.html), the first one loaded eagerly: one
    call instead of a tag a card in a template loop (its arguments resolved, the
    link's path and `?from=` worked out, once a card), a sixth of a cold grid's cards."""
    path = escape(_photo_path(_PHOTO_ID_MARK)).split(str(_PHOTO_ID_MARK))
    query = f"?from={quote(from_name, safe='')}"
    cards = (
        _card(photo, images, words, f"{path[0]}{int(photo.pk)}{path[1]}{query}", index == 0)
        for index, (photo, images, words) in enumerate(zip(photos, *_card_parts(photos), strict=True))
    )
    return SafeString("".join(cards))


def _card_parts(photos: Sequence[Photo | CardRow]) -> tuple[list[list[_CardImage]], list[list[str]]]:
    """Each photo's renditions with their URLs, and its words (title, owner, alt text, colour),
    escaped: a page's URLs made together (media_urls), then everything escaped at once, 300-odd
    calls of each fewer than one a URL and word."""
    keys = [rendition[5] for photo in photos if isinstance(photo, CardRow) for rendition in photo.renditions]
    made = iter(media_urls(keys))
    found = [
        [(size, fmt, width, height, next(made)) for size, fmt, width, height, _, _ in photo.renditions]
        if isinstance(photo, CardRow)
        else [(r.size, r.format, r.width, r.height, r.url) for r in renditions_of(photo)]
        for photo in photos
    ]
    words = [
        (photo.title, photo.owner.shown_name, photo.alt_text or photo.title, photo.placeholder_color or "#e5e7eb")
        for photo in photos
    ]
    escaped = iter(
        _escaped([*(image[4] for images in found for image in images), *(w for four in words for w in four)])
    )
    images = [[(size, fmt, width, height, next(escaped)) for size, fmt, width, height, _ in each] for each in found]
    return images, [[next(escaped) for _ in four] for four in words]


def _escaped(texts: list[str]) -> list[str]:
    """escape() of each text: in one call, unless a text holds the line break that separates them."""
    joined = "\n".join(texts)
    if not texts or joined.count("\n") != len(texts) - 1:
        return [escape(text) for text in texts]
    return escape(joined).split("\n")


def _card(photo: Photo | CardRow, images: list[_CardImage], words: list[str], link: str, eager: bool) -> str:
    """A grid card's markup from the photo's renditions (`images`) and its words (title,
    owner, alt text and colour, as _card_parts gives them); these and `link` are escaped.

    The same markup as card_shape, viewer_attributes and photo_img (photos/_img.html) make
    in a template, which cost two thirds of a cold grid's render: 48 cards each sorted their
    renditions three times, built rendition URLs twice and rendered an included template
    (bench/cache.py --profile; docs/PERFORMANCE.md). Plain f-strings with every value
    escaped here (`escape` is the standard library's, as Django's own escape uses).
    """
    by_format: dict[str, list[_CardImage]] = {}  # per format, smallest first
    for image in images:
        found = by_format.get(image[1])
        if found is None:
            by_format[image[1]] = [image]
        else:
            found.append(image)
    fallbacks = by_format.get(FALLBACK_FORMAT, [])
    largest = fallbacks[-1] if fallbacks else None
    width, height = (largest[2], largest[3]) if largest else (photo.original_width, photo.original_height)
    ratio = min(max(width / height, 0.25), 4.0) if width and height else 4 / 3
    sizes = f"(max-width: 600px) {round(ratio * ROW_HEIGHT_NARROW * 1.5)}px, {round(ratio * ROW_HEIGHT * 1.5)}px"
    title, owner, alt, colour = words

    viewer = ""
    if largest is not None:
        main = by_format.get(VIEWER_FORMAT) or fallbacks
        extra = by_format.get(VIEWER_EXTRA_FORMAT)
        avif = f' data-viewer-avif="{_card_srcset(extra)}"' if extra else ""
        viewer = (
            f'data-viewer data-viewer-width="{int(largest[2])}" data-viewer-height="{int(largest[3])}" '
            f'data-viewer-srcset="{_card_srcset(main)}"{avif} data-viewer-title="{title}" data-viewer-owner="{owner}"'
        )
    picture = ""
    # What the card offers: each format's renditions up to CARD_MAX_SIZE (a prefix: smallest first).
    card_fallbacks = [image for image in fallbacks if image[0] <= CARD_MAX_SIZE]
    if card_fallbacks:
        fallback = card_fallbacks[-1]
        sources = ""
        for output in PICTURE_FORMATS:
            shown = [image for image in by_format.get(output.name, ()) if image[0] <= CARD_MAX_SIZE]
            if output.name != FALLBACK_FORMAT and shown:
                sources += f'<source type="{output.mime_type}" srcset="{_card_srcset(shown)}" sizes="{sizes}">'
        lazy = "" if eager else 'loading="lazy" '
        picture = (
            f'<picture>{sources}<img class="thumb" src="{fallback[4]}" '
            f'srcset="{_card_srcset(card_fallbacks)}" '
            f'sizes="{sizes}" width="{int(fallback[2])}" height="{int(fallback[3])}" '
            f'alt="{alt}" {lazy}decoding="async" style="background-color: {colour}"></picture>'
        )
    # Most cards are public and shown: no badge, and no words to look up for one.
    badge = visibility_badge(photo) if photo.hidden_at is not None or photo.visibility != Visibility.PUBLIC else ""
    badge_html = f'<span class="card-badge">{escape(badge)}</span>' if badge else ""
    return (
        f'\n  <li class="card" style="--ratio: {ratio:.4f}">\n    <a href="{link}" {viewer}>\n      {picture}\n\n'
        f'      {badge_html}\n      <span class="card-meta"><span class="card-title">{title}</span>'
        f'<span class="card-owner">{owner}</span></span>\n    </a>\n  </li>'
    )


def _card_srcset(images: list[_CardImage]) -> str:
    return ", ".join([f"{url} {int(width)}w" for _, _, width, _, url in images])

"""Responsive <picture> markup for a photo from its (prefetched) renditions, the shape a
grid card keeps, and what the fullscreen viewer (static/js/viewer.js) needs to show it."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from apps.photos.imaging import OUTPUT_FORMATS
from apps.photos.models import Photo, Rendition, Tag, Visibility

register = template.Library()
FALLBACK_FORMAT = "jpg"  # every browser reads it
# The viewer's script runs only in browsers that read WebP; AVIF (1280 px and up) where they read it too.
VIEWER_FORMAT, VIEWER_EXTRA_FORMAT = "webp", "avif"
# A grid row's height in CSS px, wide screens and phones (site.css, .grid --row-height): a
# card is about ratio × this wide, which its `sizes` tells the browser before layout.
ROW_HEIGHT, ROW_HEIGHT_NARROW = 260, 120


def _srcset(renditions: list[Rendition]) -> str:
    return ", ".join(f"{rendition.url} {rendition.width}w" for rendition in renditions)


@register.inclusion_tag("photos/_img.html")
def photo_img(
    photo: Photo, sizes: str, max_size: int = 4096, css_class: str = "", eager: bool = False
) -> dict[str, object]:
    by_format: dict[str, list[Rendition]] = {}
    for rendition in sorted(photo.renditions.all(), key=lambda item: item.size):
        if rendition.size <= max_size:
            by_format.setdefault(rendition.format, []).append(rendition)
    fallbacks = by_format.get(FALLBACK_FORMAT, [])
    sources = [
        {"type": output.mime_type, "srcset": _srcset(by_format[output.name])}
        for output in OUTPUT_FORMATS
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
def renditions_in(photo: Photo, fmt: str) -> list[Rendition]:
    return sorted((r for r in photo.renditions.all() if r.format == fmt), key=lambda r: r.size)


@register.filter
def tags_of(photo: Photo) -> list[Tag]:
    """The photo's tags by name, from the prefetched (cached) card."""
    return sorted(photo.tags.all(), key=lambda tag: tag.name)


def _largest(photo: Photo) -> Rendition | None:
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
    by_format: dict[str, list[Rendition]] = {}
    for rendition in sorted(photo.renditions.all(), key=lambda item: item.size):
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
def visibility_badge(photo: Photo) -> str:
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

"""Responsive <picture> markup for a photo from its (prefetched) renditions."""

from __future__ import annotations

from django import template

from apps.photos.imaging import OUTPUT_FORMATS
from apps.photos.models import Photo, Rendition, Tag

register = template.Library()
FALLBACK_FORMAT = "jpg"  # every browser reads it


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

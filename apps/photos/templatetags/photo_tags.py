"""Responsive <img> markup for a photo from its (prefetched) renditions."""

from __future__ import annotations

from django import template

from apps.photos.models import Photo, Rendition

register = template.Library()


def _renditions(photo: Photo) -> list[Rendition]:
    return sorted(photo.renditions.all(), key=lambda rendition: rendition.size)


@register.inclusion_tag("photos/_img.html")
def photo_img(photo: Photo, sizes: str, max_size: int = 4096, css_class: str = "", eager: bool = False):  # type: ignore[no-untyped-def]
    renditions = [r for r in _renditions(photo) if r.size <= max_size] or _renditions(photo)[:1]
    fallback = renditions[-1] if renditions else None
    return {
        "photo": photo,
        "fallback": fallback,
        "srcset": ", ".join(f"{r.url} {r.width}w" for r in renditions),
        "sizes": sizes,
        "css_class": css_class,
        "eager": eager,
    }

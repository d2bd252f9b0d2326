"""The owner's share links panel on a private or unlisted photo's or album's page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from apps.albums.models import Album
from apps.photos.models import Photo, Visibility
from apps.sharing import selectors
from apps.sharing.forms import ShareLinkForm

register = template.Library()


@register.inclusion_tag("sharing/_panel.html", takes_context=True)
def share_links_panel(context: template.Context, item: Photo | Album) -> dict[str, Any]:
    """Its live links (with when made, when they expire, views, Revoke) and the form for a new
    one. Call only on the owner's view of the page. Nothing for a public item: its own
    address works for everyone (and its page asks nothing more of the database)."""
    request = context["request"]
    if item.visibility == Visibility.PUBLIC:
        return {"shown": False}
    if isinstance(item, Photo):
        links = selectors.share_link_list_for_photo(owner=request.user, photo=item)
    else:
        links = selectors.share_link_list_for_album(owner=request.user, album=item)
    return {
        "shown": True,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "item": item,
        "is_photo": isinstance(item, Photo),
        "links": links,
        "form": ShareLinkForm(),
        "now": timezone.now(),
    }

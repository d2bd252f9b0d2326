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
    one. Call only on the owner's view of the page. A public item gets no form (its own
    address works for everyone), but links made while it was private still open it, and
    would again if it turns private: they stay listed, with Revoke, while any is live."""
    request = context["request"]
    if isinstance(item, Photo):
        links = selectors.share_link_list_for_photo(owner=request.user, photo=item)
    else:
        links = selectors.share_link_list_for_album(owner=request.user, album=item)
    public = item.visibility == Visibility.PUBLIC
    if public and not links:
        return {"shown": False}
    return {
        "shown": True,
        "public": public,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "item": item,
        "is_photo": isinstance(item, Photo),
        "links": links,
        "form": ShareLinkForm(),
        "now": timezone.now(),
    }

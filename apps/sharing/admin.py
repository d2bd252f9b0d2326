"""Share links in the admin, for an operator answering "who shared this, and is the link still
live?": read-only rows, and a Revoke action through the same service as the owner's button.

The token is the link: staff see its first characters only, enough to match a link someone
reads out, not enough to open it. The password's hash is never shown.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.sharing import services
from apps.sharing.models import ShareLink


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ("masked_token", "owner_username", "target", "created_at", "expires_at", "revoked_at", "view_count")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), ("expires_at", admin.EmptyFieldListFilter))
    search_fields = ("owner__username",)
    list_select_related = ("owner",)
    # Every field read-only: a link's target, token and password are its owner's to choose.
    fields = (
        "masked_token",
        "owner_username",
        "target",
        "has_password",
        "created_at",
        "expires_at",
        "revoked_at",
        "view_count",
    )
    readonly_fields = fields
    actions = ["revoke"]
    date_hierarchy = "created_at"
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # links are made by their owners, on the item's page

    @admin.display(description="token")
    def masked_token(self, link: ShareLink) -> str:
        return link.masked_token

    @admin.display(description="owner", ordering="owner__username")
    def owner_username(self, link: ShareLink) -> str:
        return link.owner.username  # what the search goes by

    @admin.display(description="shares")
    def target(self, link: ShareLink) -> str:
        # By id only: the item is private or unlisted, and its title is for whoever may open
        # it in its own admin page, which asks its own permission.
        return f"photo {link.photo_id}" if link.photo_id is not None else f"album {link.album_id}"

    @admin.display(description="password", boolean=True)
    def has_password(self, link: ShareLink) -> bool:
        return link.has_password

    @admin.action(description="Revoke", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ShareLink]) -> None:
        links = list(queryset.filter(revoked_at__isnull=True))
        for link in links:
            services.share_link_revoke(link=link)
        self.message_user(request, f"Revoked {len(links)} link(s); they answer “withdrawn” now.", messages.SUCCESS)

"""The report queue: open reports first, resolve (hide the photo or comment) or dismiss, recording who and when."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from apps.moderation import services
from apps.moderation.models import Report, ReportStatus
from photosite.http import AuthenticatedHttpRequest


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "reason",
        "photo_link",
        "comment_text",
        "reporter",
        "status",
        "handled_by",
        "handled_at",
    )
    list_filter = ("status", "reason")
    search_fields = ("photo__title", "reporter__username", "details")
    list_select_related = ("photo", "comment", "reporter", "handled_by")
    readonly_fields = (
        "reporter",
        "photo",
        "comment",
        "reason",
        "details",
        "created_at",
        "status",
        "handled_by",
        "handled_at",
    )
    actions = ["resolve_and_hide", "dismiss"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        # The queue: open reports on top, oldest first among them.
        return super().get_queryset(request).order_by("-status", "created_at")

    @admin.display(description="photo")
    def photo_link(self, report: Report) -> str:
        return format_html('<a href="/photos/{}/">{}</a>', report.photo_id, report.photo.title)

    @admin.display(description="comment")
    def comment_text(self, report: Report) -> str:
        return report.comment.body[:80] if report.comment else "—"

    @admin.action(description="Resolve: hide the photo or comment", permissions=["change"])
    def resolve_and_hide(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Report]) -> None:
        for report in queryset.filter(status=ReportStatus.OPEN).select_related("photo"):
            services.report_resolve(report=report, moderator=request.user)
        self.message_user(request, "Resolved; the reported photos and comments are hidden.")

    @admin.action(description="Dismiss", permissions=["change"])
    def dismiss(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Report]) -> None:
        for report in queryset.filter(status=ReportStatus.OPEN):
            services.report_dismiss(report=report, moderator=request.user)
        self.message_user(request, "Dismissed.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

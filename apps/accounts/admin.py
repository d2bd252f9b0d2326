"""People in the admin. Staff act only as far as their Django permissions go, and a
superuser's account and everyone's powers are for superusers alone to change: otherwise
staff who may change users could lock out, or promote themselves over, whoever
granted them that permission."""

from __future__ import annotations

from typing import Any

from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts import services
from apps.accounts.models import ApiToken, User
from photosite.http import AuthenticatedHttpRequest

# What makes someone more powerful: editable by superusers only.
PRIVILEGE_FIELDS = ("is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Profile", {"fields": ("display_name", "bio")}))
    list_display = ("username", "email", "display_name", "is_staff", "is_active", "date_joined")
    actions = ["deactivate"]

    @admin.action(description="Deactivate (they can no longer log in; their photos stay)", permissions=["change"])
    def deactivate(self, request: AuthenticatedHttpRequest, queryset: QuerySet[User]) -> None:
        user_ids = list(queryset.values_list("pk", flat=True))
        changed = services.users_deactivate(actor=request.user, user_ids=user_ids)
        self.message_user(request, f"Deactivated {changed} user(s).")

    def save_model(self, request: AuthenticatedHttpRequest, obj: User, form: Any, change: bool) -> None:  # type: ignore[override]  # the admin passes its signed-in request
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Unticking "active" deactivates through the service, as the action does: their
            # photos and comments leave every listing, cached page and the edge at once.
            obj.is_active = True
            super().save_model(request, obj, form, change)
            services.users_deactivate(actor=request.user, user_ids=[obj.pk])
            obj.refresh_from_db(fields=["is_active"])
            return
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False  # shown read-only; the password form refuses too
        return super().has_change_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.users_delete(user_ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        # Not a bulk cascade: the likes, comments and follows of the people deleted come off
        # other people's counts, and their photos off tag counts and cached pages.
        services.users_delete(user_ids=list(queryset.values_list("pk", flat=True)))

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, *PRIVILEGE_FIELDS)


class EmailAddressAdmin(AllauthEmailAddressAdmin):
    """allauth's list of addresses; its action now needs the change permission, like ours."""

    @admin.action(description="Mark selected email addresses as verified", permissions=["change"])
    def make_verified(self, request: HttpRequest, queryset: QuerySet[EmailAddress]) -> None:
        super().make_verified(request, queryset)


# Importing allauth's admin above registered its own; ours replaces it.
admin.site.unregister(EmailAddress)
admin.site.register(EmailAddress, EmailAddressAdmin)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """People's API tokens, for revoking one that leaked: never the key (only its hash is
    stored, and that is not shown either), and nothing to edit."""

    list_display = ("name", "user", "hint", "scope", "created_at", "expires_at", "last_used_at")
    list_filter = ("scope",)
    search_fields = ("name", "user__username", "hint")
    fields = ("name", "user", "hint", "scope", "created_at", "expires_at", "last_used_at")
    readonly_fields = fields
    list_select_related = ("user",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are made by their owners, who see the key once

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from apps.accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Profile", {"fields": ("display_name", "bio")}))
    list_display = ("username", "email", "display_name", "is_staff", "is_active", "date_joined")
    actions = ["deactivate"]

    @admin.action(description="Deactivate (they can no longer log in; their photos stay)")
    def deactivate(self, request, queryset):  # type: ignore[no-untyped-def]
        changed = queryset.exclude(pk=request.user.pk).update(is_active=False)
        self.message_user(request, f"Deactivated {changed} user(s).")

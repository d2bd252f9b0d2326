from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet

from apps.accounts.models import User
from photosite.http import AuthenticatedHttpRequest


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Profile", {"fields": ("display_name", "bio")}))
    list_display = ("username", "email", "display_name", "is_staff", "is_active", "date_joined")
    actions = ["deactivate"]

    @admin.action(description="Deactivate (they can no longer log in; their photos stay)")
    def deactivate(self, request: AuthenticatedHttpRequest, queryset: QuerySet[User]) -> None:
        changed = queryset.exclude(pk=request.user.pk).update(is_active=False)
        self.message_user(request, f"Deactivated {changed} user(s).")

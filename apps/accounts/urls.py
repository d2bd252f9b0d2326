"""/accounts/: our pages, then allauth's (email, password, 2FA), included after these in photosite/urls.py."""

from allauth.account import views as allauth_views
from django.urls import path

from apps.accounts import views

urlpatterns = [
    # The names the site's templates and tests use, on allauth's views (login throttled, 429).
    path("signup/", views.signup, name="signup"),
    path("login/", views.login, name="login"),
    path("logout/", allauth_views.logout, name="logout"),
    path("people/<str:username>/", views.profile, name="profile"),
    path("people/<str:username>/timeline/", views.timeline, name="timeline"),
    path("liked/", views.liked, name="liked"),
    path("profile/", views.profile_edit, name="profile_edit"),
    path("settings/", views.account_settings, name="account_settings"),
    path("tokens/", views.api_tokens, name="api_tokens"),
    path("tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("export/", views.data_export, name="data_export"),
    path("export/<str:signed>/", views.data_export_download, name="data_export_download"),
    path("delete/", views.account_delete, name="account_delete"),
]

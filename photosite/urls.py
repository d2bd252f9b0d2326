from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language

from photosite import health, metrics

urlpatterns = [
    # First: the pages people ask for most (home, the feed, a photo, a tag) resolve in a few
    # pattern matches instead of walking every app's (a twentieth of a signed-in page's time).
    # None of its patterns matches another app's address, so the order changes no answer.
    path("", include("apps.photos.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("accounts/", include("allauth.urls")),  # email, password reset and change, 2FA (/accounts/2fa/)
    path("ops/", include("apps.ops.urls")),
    path("api/", include("apps.api.urls")),
    # The footer's language switcher. No CSRF token: a forged switch harms nobody, and a token
    # in every page would keep anonymous pages from being cached whole.
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("", include("apps.moderation.urls")),
    path("", include("apps.social.urls")),
    path("", include("apps.notifications.urls")),
    path("", include("apps.sharing.urls")),  # /s/<token>/ share links; before albums
    path("", include("apps.albums.urls")),
]

handler400 = "photosite.errors.bad_request"
handler403 = "photosite.errors.permission_denied"
handler404 = "photosite.errors.page_not_found"
handler500 = "photosite.errors.server_error"

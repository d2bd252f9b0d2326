from django.urls import path

from apps.ops import views

urlpatterns = [
    path("", views.dashboard, name="ops_dashboard"),
    path("retry-failed/", views.retry_failed, name="ops_retry_failed"),
    path("sentry-check/", views.sentry_check_view, name="ops_sentry_check"),
]

from django.urls import path

from apps.ops import views

urlpatterns = [
    path("sentry-check/", views.sentry_check_view, name="ops_sentry_check"),
]

from django.urls import path

from apps.notifications import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/digest/", views.notification_digest, name="notification_digest"),
]

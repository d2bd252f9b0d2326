from django.urls import path

from apps.moderation import views

urlpatterns = [
    path("photos/<int:photo_id>/report/", views.report_photo, name="photo_report"),
    path("comments/<int:comment_id>/report/", views.report_comment, name="comment_report"),
]

from django.conf import settings
from django.urls import path

from apps.photos import views

urlpatterns = [
    path("", views.home, name="home"),
    path("explore/", views.explore, name="explore"),
    path("following/", views.feed, name="feed"),
    path("tags/<str:name>/", views.tag, name="tag"),
    path("search/", views.search, name="search"),
    path("upload/", views.photo_upload, name="photo_upload"),
    path("upload/direct/", views.upload_direct_start, name="upload_direct_start"),
    path("upload/direct/complete/", views.upload_direct_complete, name="upload_direct_complete"),
    path("photos/<int:photo_id>/", views.photo_detail, name="photo_detail"),
    path("photos/<int:photo_id>/edit/", views.photo_edit, name="photo_edit"),
    path("photos/<int:photo_id>/delete/", views.photo_delete, name="photo_delete"),
    path("photos/<int:photo_id>/retry/", views.photo_retry, name="photo_retry"),
    path("photos/<int:photo_id>/original/", views.photo_original, name="photo_original"),
    path("oembed", views.oembed, name="oembed"),
]
if settings.SERVE_LOCAL_MEDIA:
    urlpatterns.append(path("media/<path:name>", views.local_media, name="local_media"))

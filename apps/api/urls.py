from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.api import views

v1 = [
    path("auth/token/", views.token, name="api_token"),
    path("users/<str:username>/", views.person_detail, name="api_person"),
    path("users/<str:username>/follow/", views.follow, name="api_follow"),
    path("photos/", views.photos, name="api_photos"),
    path("photos/<int:photo_id>/", views.photo_detail, name="api_photo"),
    path("photos/<int:photo_id>/like/", views.like, name="api_like"),
    path("photos/<int:photo_id>/comments/", views.comments, name="api_comments"),
    path("comments/<int:comment_id>/", views.comment_detail, name="api_comment"),
    path("uploads/", views.upload_start, name="api_upload_start"),
    path("uploads/complete/", views.upload_complete, name="api_upload_complete"),
    path("feed/", views.feed, name="api_feed"),
    path("popular/", views.popular, name="api_popular"),
    path("albums/", views.albums, name="api_albums"),
    path("albums/<int:album_id>/", views.album_detail, name="api_album"),
    path("albums/<int:album_id>/photos/", views.album_photos, name="api_album_photos"),
    path("albums/<int:album_id>/cover/", views.album_cover, name="api_album_cover"),
    path("reports/", views.reports, name="api_reports"),
]

urlpatterns = [
    *[path(f"v1/{pattern.pattern}", pattern.callback, name=pattern.name) for pattern in v1],
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
]

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.api.views import albums, auth, feeds, me, notifications, people, photos, reports, shares, social, uploads

v1 = [
    path("auth/token/", auth.token, name="api_token"),
    path("me/", me.me, name="api_me"),
    path("users/<str:username>/", people.person_detail, name="api_person"),
    path("users/<str:username>/follow/", people.follow, name="api_follow"),
    path("photos/", photos.photo_list, name="api_photos"),
    path("photos/<int:photo_id>/", photos.photo_detail, name="api_photo"),
    path("photos/<int:photo_id>/like/", social.like, name="api_like"),
    path("photos/<int:photo_id>/comments/", social.comment_list, name="api_comments"),
    path("comments/<int:comment_id>/", social.comment_detail, name="api_comment"),
    path("uploads/", uploads.upload_start, name="api_upload_start"),
    path("uploads/complete/", uploads.upload_complete, name="api_upload_complete"),
    path("feed/", feeds.feed, name="api_feed"),
    path("popular/", feeds.popular, name="api_popular"),
    path("albums/", albums.album_list, name="api_albums"),
    path("albums/<int:album_id>/", albums.album_detail, name="api_album"),
    path("albums/<int:album_id>/photos/", albums.album_photos, name="api_album_photos"),
    path("albums/<int:album_id>/cover/", albums.album_cover, name="api_album_cover"),
    path("photos/<int:photo_id>/shares/", shares.photo_shares, name="api_photo_shares"),
    path("albums/<int:album_id>/shares/", shares.album_shares, name="api_album_shares"),
    path("shares/<str:share>/", shares.share_detail, name="api_share"),
    path("reports/", reports.reports, name="api_reports"),
    path("notifications/", notifications.notification_list, name="api_notifications"),
    path("notifications/read/", notifications.notifications_read, name="api_notifications_read"),
]

urlpatterns = [
    *[path(f"v1/{pattern.pattern}", pattern.callback, name=pattern.name) for pattern in v1],
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
]

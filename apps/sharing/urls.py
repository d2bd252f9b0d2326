from django.urls import path

from apps.sharing import views

urlpatterns = [
    path("s/<str:token>/", views.share_open, name="share_open"),
    path("s/<str:token>/<int:photo>/", views.share_album_photo, name="share_album_photo"),
    path("photos/<int:photo_id>/shares/", views.photo_share_create, name="photo_share_create"),
    path("albums/<int:album_id>/shares/", views.album_share_create, name="album_share_create"),
    path("shares/<str:share>/revoke/", views.share_revoke, name="share_revoke"),
]

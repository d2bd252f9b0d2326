from django.urls import path

from apps.albums import views

urlpatterns = [
    path("albums/new/", views.album_create, name="album_create"),
    path("albums/add-photo/", views.album_add_photo, name="album_add_photo"),
    path("albums/<int:album_id>/", views.album_detail, name="album_detail"),
    path("albums/<int:album_id>/edit/", views.album_edit, name="album_edit"),
    path("albums/<int:album_id>/arrange/", views.album_arrange, name="album_arrange"),
    path("albums/<int:album_id>/delete/", views.album_delete, name="album_delete"),
]

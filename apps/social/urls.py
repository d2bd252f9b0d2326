from django.urls import path

from apps.social import views

urlpatterns = [
    path("photos/<int:photo_id>/like/", views.photo_like, name="photo_like"),
    path("photos/<int:photo_id>/comments/", views.comment_create, name="comment_create"),
    path("comments/<int:comment_id>/delete/", views.comment_delete, name="comment_delete"),
    path("accounts/people/<str:username>/follow/", views.follow, name="follow"),
    path("accounts/people/<str:username>/followers/", views.followers, name="followers"),
    path("accounts/people/<str:username>/following/", views.following, name="following"),
]

"""What people do with each other's photos: follow their owners, like them, comment on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

# The counts the social services keep in sharded counters (photosite/counters.py), by what
# they count. Only active people's likes, shown comments and follows count: a deactivated
# person's likes and comments disappear with them (apps/social/services.py, counts_recount).
PHOTO_LIKES = "photo.likes"
PHOTO_COMMENTS = "photo.comments"
USER_FOLLOWERS = "user.followers"
USER_FOLLOWING = "user.following"


class Follow(models.Model):
    follower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_set")
    followee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_set")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_once"),
            models.CheckConstraint(condition=~models.Q(follower=models.F("followee")), name="no_self_follow"),
        ]
        # The feed reads "whom do I follow" (the unique index covers it); profiles read the reverse.
        indexes = [models.Index(fields=["followee", "-created_at"], name="follow_followee_idx")]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followee_id}"


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    photo = models.ForeignKey("photos.Photo", on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "photo"], name="like_once")]
        # "Popular": likes per photo in the last seven days.
        indexes = [
            models.Index(fields=["created_at", "photo"], name="like_recent_idx"),
            # A person's Liked page: their likes, newest first.
            models.Index(fields=["user", "-created_at", "-id"], name="like_user_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.photo_id}"


class Comment(models.Model):
    photo = models.ForeignKey("photos.Photo", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by a moderator: the comment disappears for everyone but its author.
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["photo", "created_at", "id"], name="comment_photo_idx")]

    def __str__(self) -> str:
        return f"{self.author_id} on {self.photo_id}: {self.body[:40]}"


class PopularPhoto(models.Model):
    """A photo on the Popular page and its likes in the last seven days, as of `computed_at`.

    Rebuilt every ten minutes by popular_refresh (apps/social/tasks.py) for the top
    POPULAR_SIZE photos, so a Popular page is an index scan of this small table instead
    of counting every like of the week on each cache miss (bench/growth.py).
    """

    photo = models.OneToOneField("photos.Photo", on_delete=models.CASCADE, primary_key=True, related_name="popularity")
    likes = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["-likes", "-photo"], name="popular_rank_idx")]

    def __str__(self) -> str:
        return f"{self.photo_id}: {self.likes} likes this week"

"""Likes, comments and follows over HTTP: JSON for the page's script, redirects without it, 4xx for bad input."""

from __future__ import annotations

from django.urls import reverse

from apps.social.models import Comment
from apps.social.selectors import person_counts, photo_counts
from apps.social.services import comment_create, follow_set
from tests.factories import UserFactory, ready_photo


def test_like_toggles_without_a_reload_and_the_page_shows_the_new_count(client, user, other_user, bucket) -> None:
    photo = ready_photo(other_user, title="Likeable")
    client.force_login(user)
    url = reverse("photo_like", args=[photo.pk])
    response = client.post(url, {"liked": "1"}, HTTP_ACCEPT="application/json")
    assert response.json() == {"liked": True, "count": 1}
    page = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert 'aria-pressed="true"' in page and "<strong data-like-count>1</strong> like" in page
    assert client.post(url, {"liked": "0"}, HTTP_ACCEPT="application/json").json() == {"liked": False, "count": 0}
    # Without the script the form posts and comes back to the page it was on.
    response = client.post(url, {"liked": "1", "next": f"/photos/{photo.pk}/?from=recent"})
    assert response.status_code == 302 and response["Location"] == f"/photos/{photo.pk}/?from=recent"
    response = client.post(url, {"liked": "1", "next": "https://elsewhere.example/"})
    assert response["Location"] == reverse("photo_detail", args=[photo.pk])  # never an open redirect


def test_like_with_a_missing_flag_is_a_400_and_changes_nothing(client, user, other_user, bucket) -> None:
    photo = ready_photo(other_user)
    client.force_login(user)
    response = client.post(reverse("photo_like", args=[photo.pk]), {}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "liked=1" in response.json()["error"]
    assert photo_counts(photo_id=photo.pk).likes == 0


def test_comments_post_show_and_delete_by_author_or_photo_owner(client, user, other_user, bucket) -> None:
    photo = ready_photo(other_user, title="Talk about it")
    client.force_login(user)
    response = client.post(reverse("comment_create", args=[photo.pk]), {"body": "Great <b>light</b>"})
    comment = Comment.objects.get()
    assert response["Location"].endswith(f"#comment-{comment.pk}")
    page = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert "Great &lt;b&gt;light&lt;/b&gt;" in page  # escaped, never markup
    assert "<strong>1</strong> comment" in page

    stranger = UserFactory()
    client.force_login(stranger)
    response = client.post(reverse("comment_delete", args=[comment.pk]))
    assert response.status_code == 403 and Comment.objects.exists()
    client.force_login(other_user)  # the photo's owner may delete any comment on it
    client.post(reverse("comment_delete", args=[comment.pk]))
    assert not Comment.objects.exists()
    assert photo_counts(photo_id=photo.pk).comments == 0


def test_an_empty_comment_is_a_400_with_a_message(client, user, other_user, bucket) -> None:
    photo = ready_photo(other_user)
    client.force_login(user)
    response = client.post(reverse("comment_create", args=[photo.pk]), {"body": "  "}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["error"] == "Write something first."
    assert not Comment.objects.exists()


def test_a_comment_hidden_by_moderators_shows_only_to_its_author(client, user, other_user, bucket) -> None:
    from apps.social.services import comment_hide

    photo = ready_photo(other_user)
    comment = comment_create(author=user, photo=photo, body="Borderline remark")
    comment_hide(comment_id=comment.pk, moderator=UserFactory(is_staff=True))
    url = reverse("photo_detail", args=[photo.pk])
    assert "Borderline remark" not in client.get(url).content.decode()
    client.force_login(user)
    page = client.get(url).content.decode()
    assert "Borderline remark" in page and "Hidden by the moderators" in page


def test_follow_from_a_profile_feeds_their_public_photos(
    client, user, other_user, bucket, django_capture_on_commit_callbacks
) -> None:
    from apps.photos.models import Visibility

    ready_photo(other_user, title="For the followers")
    ready_photo(other_user, title="Not for the feed", visibility=Visibility.UNLISTED)
    ready_photo(UserFactory(), title="From a stranger")
    client.force_login(user)
    feed = client.get(reverse("feed")).content.decode()
    assert "For the followers" not in feed and "Follow people" in feed
    with django_capture_on_commit_callbacks(execute=True):  # the request commits: the kept feed is forgotten
        response = client.post(
            reverse("follow", args=[other_user.username]), {"following": "1"}, HTTP_ACCEPT="application/json"
        )
    assert response.json() == {"following": True, "count": 1}
    feed = client.get(reverse("feed")).content.decode()
    assert "For the followers" in feed
    assert "Not for the feed" not in feed and "From a stranger" not in feed
    profile = client.get(reverse("profile", args=[other_user.username])).content.decode()
    assert "<strong>1</strong> follower" in profile and ">Following</button>" in profile
    followers = client.get(reverse("followers", args=[other_user.username])).content.decode()
    assert f"@{user.username}" in followers


def test_following_yourself_is_a_400(client, user) -> None:
    client.force_login(user)
    response = client.post(reverse("follow", args=[user.username]), {"following": "1"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "yourself" in response.json()["error"]
    assert person_counts(user_id=user.pk).followers == 0


def test_reporting_a_comment_reaches_the_queue_and_resolving_hides_it(client, user, other_user, bucket) -> None:
    from apps.moderation.models import Report
    from apps.moderation.services import report_resolve

    photo = ready_photo(other_user)
    comment = comment_create(author=other_user, photo=photo, body="Buy cheap watches")
    follow_set(follower=user, followee=other_user, following=True)
    client.force_login(user)
    response = client.post(reverse("comment_report", args=[comment.pk]), {"reason": "spam"})
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.comment == comment and report.photo == photo
    again = client.post(reverse("comment_report", args=[comment.pk]), {"reason": "spam"})
    assert again.status_code == 400 and "already reported this comment" in again.content.decode()
    report_resolve(report=report, moderator=UserFactory(is_staff=True))
    photo.refresh_from_db()
    assert photo.hidden_at is None  # the comment was the problem, not the photo
    assert photo_counts(photo_id=photo.pk).comments == 0
    assert "Buy cheap watches" not in client.get(reverse("photo_detail", args=[photo.pk])).content.decode()

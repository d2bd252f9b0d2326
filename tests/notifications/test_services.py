"""The fan-out: who hears of a like, comment, mention or follow, grouped one row per kind and photo."""

from __future__ import annotations

from django.urls import reverse

from apps.notifications.models import Notification, NotificationKind
from apps.notifications.selectors import notification_page, notification_views
from apps.notifications.services import notifications_mark_read
from apps.photos.models import Visibility
from apps.photos.services import photo_update
from apps.social.services import comment_create, follow_set, like_set
from tests.factories import UserFactory, ready_photo
from tests.notifications.jobs import run_queued_notifications


def texts_for(user) -> list[str]:
    page = notification_page(user=user, cursor=None)
    return [item.text for item in notification_views(notifications=page.items, viewer=user)]


def test_likes_by_three_people_make_one_grouped_notification(db, bucket) -> None:
    ann = UserFactory(username="ann", display_name="Ann")
    photo = ready_photo(ann, title="Harbour")
    likers = [UserFactory(display_name=name) for name in ("Bea", "Cal", "Dee")]
    for liker in likers:
        like_set(user=liker, photo=photo, liked=True)
    assert Notification.objects.count() == 0  # the request side only queued jobs
    assert run_queued_notifications() == 3
    (row,) = Notification.objects.filter(recipient=ann)
    assert (row.kind, row.photo_id, row.actor_count, row.last_actor_id) == ("like", photo.pk, 3, likers[-1].pk)
    assert texts_for(ann) == ["Dee and 2 others liked your photo “Harbour”"]
    ann.refresh_from_db()
    assert ann.unread_notification_count == 1  # one group, however many likes


def test_a_like_taken_back_and_given_again_counts_the_person_once(db, bucket) -> None:
    ann, bea = UserFactory(), UserFactory(display_name="Bea")
    photo = ready_photo(ann, title="Pier")
    like_set(user=bea, photo=photo, liked=True)
    run_queued_notifications()
    like_set(user=bea, photo=photo, liked=False)
    like_set(user=bea, photo=photo, liked=True)
    run_queued_notifications()
    assert texts_for(ann) == ["Bea liked your photo “Pier”"]


def test_news_on_a_read_group_makes_it_unread_again_and_first(db, bucket) -> None:
    ann = UserFactory()
    old, new = ready_photo(ann, title="Old"), ready_photo(ann, title="New")
    bea, cal = UserFactory(display_name="Bea"), UserFactory(display_name="Cal")
    like_set(user=bea, photo=old, liked=True)
    like_set(user=bea, photo=new, liked=True)
    run_queued_notifications()
    assert notifications_mark_read(user=ann) == 2
    assert ann.unread_notification_count == 0
    like_set(user=cal, photo=old, liked=True)
    run_queued_notifications()
    ann.refresh_from_db()
    assert ann.unread_notification_count == 1
    page = notification_page(user=ann, cursor=None)
    views = notification_views(notifications=page.items, viewer=ann)
    assert [(view.text, view.unread) for view in views] == [
        ("Cal and 1 other liked your photo “Old”", True),
        ("Bea liked your photo “New”", False),
    ]


def test_a_comment_notifies_the_owner_and_a_mention_notifies_the_person_with_a_link(db, bucket) -> None:
    ann, bea = UserFactory(username="ann", display_name="Ann"), UserFactory(username="bea", display_name="Bea")
    cal = UserFactory(username="Cal", display_name="Cal")
    photo = ready_photo(ann, title="Dunes")
    comment = comment_create(author=bea, photo=photo, body="Look at this, @cal! (not ann@example.com)")
    run_queued_notifications()
    assert texts_for(ann) == ["Bea commented on your photo “Dunes”"]
    assert texts_for(cal) == ["Bea mentioned you on “Dunes”"]
    (view,) = notification_views(notifications=list(Notification.objects.filter(recipient=cal)), viewer=cal)
    assert view.url == reverse("photo_detail", args=[photo.pk]) + f"#comment-{comment.pk}"
    assert not Notification.objects.filter(recipient=bea).exists()


def test_a_mention_on_a_photo_the_person_may_not_see_tells_them_nothing(db, bucket) -> None:
    ann, cal = UserFactory(username="ann"), UserFactory(username="cal")
    for visibility in (Visibility.PRIVATE, Visibility.UNLISTED):
        photo = ready_photo(ann, title=f"Secret {visibility}", visibility=visibility)
        comment_create(author=ann, photo=photo, body="@cal you will never see this")
    run_queued_notifications()
    assert not Notification.objects.filter(recipient=cal).exists()
    assert not Notification.objects.filter(recipient=ann).exists()  # her own comments


def test_a_follow_notifies_the_person_followed_and_groups_followers(db) -> None:
    ann = UserFactory(display_name="Ann")
    bea, cal = UserFactory(display_name="Bea"), UserFactory(display_name="Cal")
    follow_set(follower=bea, followee=ann, following=True)
    follow_set(follower=cal, followee=ann, following=True)
    run_queued_notifications()
    assert texts_for(ann) == ["Cal and 1 other started following you"]
    (view,) = notification_views(notifications=list(Notification.objects.filter(recipient=ann)), viewer=ann)
    assert view.url == reverse("profile", args=[cal.username])
    assert Notification.objects.get(recipient=ann).kind == NotificationKind.FOLLOW


def test_nobody_is_told_of_their_own_likes_comments_or_mentions(db, bucket) -> None:
    ann = UserFactory(username="ann")
    photo = ready_photo(ann)
    like_set(user=ann, photo=photo, liked=True)
    comment_create(author=ann, photo=photo, body="Me, @ann, on my own photo")
    run_queued_notifications()
    assert not Notification.objects.exists()


def test_running_a_job_twice_changes_nothing(db, bucket) -> None:
    from apps.notifications.tasks import fan_out

    ann, bea = UserFactory(), UserFactory()
    photo = ready_photo(ann)
    like_set(user=bea, photo=photo, liked=True)
    run_queued_notifications()
    notifications_mark_read(user=ann)
    fan_out.fn("like", bea.pk, photo.pk)  # delivered again (at-least-once)
    row = Notification.objects.get(recipient=ann)
    assert (row.actor_count, row.read_at is not None) == (1, True)
    ann.refresh_from_db()
    assert ann.unread_notification_count == 0


def test_deleting_the_photo_deletes_its_notifications(db, bucket) -> None:
    from apps.photos.services import photo_delete

    ann, bea = UserFactory(), UserFactory()
    photo = ready_photo(ann)
    like_set(user=bea, photo=photo, liked=True)
    run_queued_notifications()
    photo_delete(photo_id=photo.pk)
    assert not Notification.objects.exists()


def test_a_photo_hidden_by_a_moderator_is_named_only_to_its_owner(db, bucket) -> None:
    from apps.photos.services import photo_hide

    ann, cal = UserFactory(username="ann", display_name="Ann"), UserFactory(username="cal")
    photo = ready_photo(ann, title="Reported view")
    comment_create(author=UserFactory(display_name="Bea"), photo=photo, body="@cal see this")
    run_queued_notifications()
    photo_hide(photo=photo, moderator=UserFactory(is_staff=True), reason="spam")
    photo.refresh_from_db()
    assert texts_for(cal) == ["Someone mentioned you on a photo you can no longer see"]
    (view,) = notification_views(notifications=list(Notification.objects.filter(recipient=cal)), viewer=cal)
    assert (view.url, view.photo) == ("", None)
    assert texts_for(ann) == ["Bea commented on your photo “Reported view”"]


def test_a_deactivated_persons_name_is_not_shown(db, bucket) -> None:
    ann, bea = UserFactory(), UserFactory(display_name="Bea")
    like_set(user=bea, photo=ready_photo(ann, title="Field"), liked=True)
    run_queued_notifications()
    bea.is_active = False
    bea.save(update_fields=["is_active"])
    assert texts_for(ann) == ["Someone liked your photo “Field”"]


def test_who_acted_on_a_photo_the_reader_may_no_longer_see_is_not_named(db, bucket) -> None:
    ann, bea = UserFactory(username="ann"), UserFactory(username="bea")
    mallory = UserFactory(username="mallory", display_name="Mallory")
    photo = ready_photo(bea, title="Jetty")
    comment_create(author=mallory, photo=photo, body="look @ann")
    run_queued_notifications()
    photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    page = notification_page(user=ann, cursor=None)
    (item,) = notification_views(notifications=page.items, viewer=ann)
    assert item.actor is None and item.photo is None and "Mallory" not in item.text


def test_a_comment_naming_a_longer_user_name_is_no_mention_of_the_shorter_one(db, bucket) -> None:
    ann = UserFactory(username="ann")
    UserFactory(username="anna")
    owner, bea, cal = UserFactory(), UserFactory(display_name="Bea"), UserFactory(display_name="Cal")
    photo = ready_photo(owner, title="Dunes")
    comment_create(author=bea, photo=photo, body="@ann you'd like this")
    comment_create(author=cal, photo=photo, body="@anna too")
    run_queued_notifications()
    assert texts_for(ann) == ["Bea mentioned you on “Dunes”"]  # Cal mentioned @anna, not Ann

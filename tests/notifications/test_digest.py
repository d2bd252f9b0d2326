"""The daily email digest: only for people who asked, unread news since the last one, never twice."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from apps.accounts.models import User
from apps.notifications.services import (
    NotificationRefused,
    notification_digest_set,
    notification_digests_send,
    notifications_mark_read,
)
from apps.notifications.tasks import send_digests
from apps.photos.models import Visibility
from apps.photos.services import photo_update
from apps.social.services import like_set
from tests.factories import UserFactory, email_confirmed, ready_photo
from tests.notifications.jobs import run_queued_notifications


def test_the_digest_is_sent_once_for_the_same_news_and_again_for_new_news(db, bucket, mailoutbox, settings) -> None:
    settings.SITE_URL = "https://photos.example.org"
    ann = email_confirmed(UserFactory(email="ann@example.com", notification_digest="daily"))
    quiet = email_confirmed(UserFactory(email="quiet@example.com"))  # the digest is off unless chosen
    bea, cal = UserFactory(display_name="Bea"), UserFactory(display_name="Cal")
    photo = ready_photo(ann, title="Glacier")
    like_set(user=bea, photo=photo, liked=True)
    like_set(user=bea, photo=ready_photo(quiet), liked=True)
    run_queued_notifications()

    send_digests.fn()
    (mail,) = mailoutbox
    assert mail.to == ["ann@example.com"]
    assert "Bea liked your photo “Glacier”" in mail.body
    assert f"https://photos.example.org/photos/{photo.pk}/" in mail.body
    assert notification_digests_send() == 0  # the same news is not sent twice
    assert len(mailoutbox) == 1

    like_set(user=cal, photo=photo, liked=True)  # new news in the same group
    run_queued_notifications()
    assert notification_digests_send() == 1
    assert "Cal and 1 other liked your photo “Glacier”" in mailoutbox[1].body

    like_set(user=bea, photo=ready_photo(ann, title="Read already"), liked=True)
    run_queued_notifications()
    notifications_mark_read(user=ann)
    assert notification_digests_send() == 0  # read news needs no email


def test_the_digest_does_not_name_a_photo_the_reader_may_no_longer_see(db, bucket, mailoutbox) -> None:
    from apps.social.services import comment_create

    ann = UserFactory(username="ann")
    cal = email_confirmed(UserFactory(username="cal", email="cal@example.com", notification_digest="daily"))
    photo = ready_photo(ann, title="Soon private")
    comment_create(author=ann, photo=photo, body="@cal look")
    run_queued_notifications()
    photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    assert notification_digests_send() == 1
    assert "Soon private" not in mailoutbox[0].body
    assert "a photo you can no longer see" in mailoutbox[0].body
    assert mailoutbox[0].to == [cal.email]


def test_the_digest_job_is_scheduled_daily_on_the_maintenance_queue() -> None:
    from dramatiq_crontab import scheduler

    schedules = {job.name: str(job.trigger) for job in scheduler.get_jobs()}
    assert "hour='7'" in schedules["send_digests"] and "minute='5'" in schedules["send_digests"]
    assert send_digests.queue_name == "maintenance"


def test_a_digest_needs_an_email_address_and_the_choice(db, bucket, mailoutbox) -> None:
    ann = UserFactory(email="", notification_digest="daily")
    bea = UserFactory()
    like_set(user=bea, photo=ready_photo(ann), liked=True)
    run_queued_notifications()
    assert notification_digests_send() == 0 and mailoutbox == []


def test_the_digest_goes_only_to_a_confirmed_address(db, bucket, mailoutbox, client) -> None:
    # Someone signs up with another person's address: the site must not mail that person daily.
    eve = UserFactory(username="eve", email="someone-else@example.com")
    EmailAddress.objects.create(user=eve, email=eve.email, primary=True, verified=False)
    with pytest.raises(NotificationRefused, match="Confirm your email address"):
        notification_digest_set(user=eve, frequency="daily")
    client.force_login(eve)
    answer = client.post(reverse("notification_digest"), {"notification_digest": "daily"})
    assert answer.status_code == 400 and "Confirm your email address" in answer.content.decode()
    eve.refresh_from_db()
    assert eve.notification_digest == "off"

    User.objects.filter(pk=eve.pk).update(notification_digest="daily")  # chosen before this rule, say
    like_set(user=UserFactory(), photo=ready_photo(eve), liked=True)
    run_queued_notifications()
    assert notification_digests_send() == 0 and mailoutbox == []

    EmailAddress.objects.filter(user=eve).update(verified=True)
    assert notification_digests_send() == 1 and mailoutbox[0].to == ["someone-else@example.com"]


def test_nobody_writes_lines_of_their_own_into_another_persons_digest(db, bucket, mailoutbox) -> None:
    ann = email_confirmed(UserFactory(username="ann", email="ann@example.com", notification_digest="daily"))
    mallory = UserFactory(username="mallory", display_name="Mal\n\nSECURITY NOTICE: confirm your password")
    photo = ready_photo(ann, title="Fog")
    like_set(user=mallory, photo=photo, liked=True)
    run_queued_notifications()
    assert notification_digests_send() == 1
    (line,) = [line for line in mailoutbox[0].body.splitlines() if "liked your photo" in line]
    assert "SECURITY NOTICE" in line  # still said, but inside the sentence, not as a line of its own
    assert not any(line.startswith("SECURITY") for line in mailoutbox[0].body.splitlines())

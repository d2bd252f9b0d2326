"""Reporting a photo, and the moderators' queue acting on it."""

from __future__ import annotations

from django.core.cache import cache
from django.urls import reverse

from apps.moderation.models import Report, ReportStatus
from apps.photos import services
from tests.conftest import staff_login
from tests.factories import UserFactory, uploaded_photo


def ready_photo(owner, title: str = "Reported one"):
    photo = uploaded_photo(owner=owner, title=title)
    services.rendition_make_all(photo_id=photo.pk)
    return photo


def test_a_person_reports_a_photo_once(client, user, other_user, bucket) -> None:
    photo = ready_photo(user)
    client.force_login(other_user)
    page = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert "Report this photo" in page
    url = reverse("photo_report", args=[photo.pk])
    response = client.post(url, {"reason": "spam", "details": "Link farm in the caption"})
    assert response.status_code == 302
    report = Report.objects.get()
    assert (report.reporter, report.photo, report.reason, report.status) == (other_user, photo, "spam", "open")
    again = client.post(url, {"reason": "spam"})
    assert again.status_code == 400 and "already reported" in again.content.decode()
    assert Report.objects.count() == 1


def test_bad_reports_are_refused_and_store_nothing(client, user, other_user, bucket) -> None:
    photo = ready_photo(user)
    client.force_login(other_user)
    response = client.post(reverse("photo_report", args=[photo.pk]), {"reason": "because"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    client.force_login(user)
    own = client.post(reverse("photo_report", args=[photo.pk]), {"reason": "spam"})
    assert own.status_code == 400 and "cannot report your own photo" in own.content.decode()
    assert Report.objects.count() == 0


def test_moderator_resolves_a_report_and_the_photo_disappears_for_others(
    client, user, other_user, bucket, django_capture_on_commit_callbacks
) -> None:
    photo = ready_photo(user, "Offending")
    Report.objects.create(reporter=other_user, photo=photo, reason="violence")
    assert "Offending" in client.get(reverse("home")).content.decode()
    moderator = UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, moderator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:moderation_report_changelist"),
            {"action": "resolve_and_hide", "_selected_action": [Report.objects.get().pk]},
        )
    report = Report.objects.get()
    assert report.status == ReportStatus.RESOLVED and report.handled_by == moderator and report.handled_at
    assert "Hidden by the moderators" in client.get(reverse("photo_detail", args=[photo.pk])).content.decode()

    client.logout()
    assert "Offending" not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("photo_detail", args=[photo.pk])).status_code == 404
    client.force_login(other_user)
    assert client.get(reverse("photo_detail", args=[photo.pk])).status_code == 404
    client.force_login(user)
    owner_view = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert "Hidden by the moderators: Violence or gore" in owner_view

    staff_login(client, moderator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:photos_photo_changelist"), {"action": "unhide", "_selected_action": [photo.pk]})
    client.logout()
    cache.clear()
    assert "Offending" in client.get(reverse("home")).content.decode()


def test_dismissing_keeps_the_photo_and_records_who(client, user, other_user, bucket) -> None:
    photo = ready_photo(user, "Fine really")
    report = Report.objects.create(reporter=other_user, photo=photo, reason="other")
    moderator = UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, moderator)
    client.post(reverse("admin:moderation_report_changelist"), {"action": "dismiss", "_selected_action": [report.pk]})
    report.refresh_from_db()
    assert report.status == ReportStatus.DISMISSED and report.handled_by == moderator
    client.logout()
    assert client.get(reverse("photo_detail", args=[photo.pk])).status_code == 200


def test_the_report_queue_is_for_staff_only(client, user) -> None:
    client.force_login(user)
    response = client.get(reverse("admin:moderation_report_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

"""GET /api/v1/notifications/ (the caller's own, by cursor) and POST /api/v1/notifications/read/."""

from __future__ import annotations

from rest_framework.test import APIClient

from apps.notifications.models import Notification
from apps.social.services import like_set
from tests.factories import UserFactory, ready_photo
from tests.notifications.jobs import run_queued_notifications


def api_for(user) -> APIClient:
    user.refresh_from_db()  # as a request loads its user: with the header's count as it is now
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_list_pages_by_cursor_and_holds_only_the_callers_own(db, bucket) -> None:
    ann, bea, eve = UserFactory(), UserFactory(display_name="Bea"), UserFactory()
    for number in range(3):
        like_set(user=bea, photo=ready_photo(ann, title=f"Ann {number}"), liked=True)
    like_set(user=bea, photo=ready_photo(eve, title="Eve's secret garden"), liked=True)
    run_queued_notifications()

    first = api_for(ann).get("/api/v1/notifications/?limit=2").json()
    assert [item["text"] for item in first["results"]] == [
        "Bea liked your photo “Ann 2”",
        "Bea liked your photo “Ann 1”",
    ]
    assert first["unread"] == 3 and first["results"][0]["actor"]["username"] == bea.username
    second = api_for(ann).get(first["next"]).json()
    assert [item["text"] for item in second["results"]] == ["Bea liked your photo “Ann 0”"]
    assert second["next"] is None
    everything = str(first) + str(second)
    assert "Eve" not in everything  # another person's notifications are never in the list

    assert api_for(ann).get("/api/v1/notifications/?cursor=forged").status_code == 400
    assert api_for(ann).get("/api/v1/notifications/?limit=0").status_code == 400
    assert APIClient().get("/api/v1/notifications/").status_code == 401


def test_marking_read_touches_only_the_callers_own(db, bucket) -> None:
    ann, bea, eve = UserFactory(), UserFactory(), UserFactory()
    like_set(user=bea, photo=ready_photo(ann), liked=True)
    like_set(user=bea, photo=ready_photo(ann), liked=True)
    like_set(user=bea, photo=ready_photo(eve), liked=True)
    run_queued_notifications()
    eves = Notification.objects.get(recipient=eve)
    anns = list(Notification.objects.filter(recipient=ann).values_list("pk", flat=True))

    answer = api_for(ann).post("/api/v1/notifications/read/", {"ids": [eves.pk, anns[0]]}, format="json")
    assert answer.status_code == 200 and answer.json() == {"marked": 1, "unread": 1}
    eves.refresh_from_db()
    assert eves.read_at is None  # not hers to mark

    assert api_for(ann).post("/api/v1/notifications/read/", {}, format="json").json() == {"marked": 1, "unread": 0}
    assert api_for(ann).post("/api/v1/notifications/read/", {"ids": "all"}, format="json").status_code == 400
    assert APIClient().post("/api/v1/notifications/read/", {}, format="json").status_code == 401

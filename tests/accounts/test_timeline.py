"""A person's timeline: photos by the date taken (else uploaded), months as headings, year and month jumps."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.photos.services import photo_update
from tests.factories import UserFactory, camera_photo, ready_photo


def titles_in_grid(body: str) -> list[str]:
    return re.findall(r'<span class="card-title">([^<]+)</span>', body)


def month_headings(body: str) -> list[str]:
    return re.findall(r'<li class="grid-month" data-month="[^"]+"><h2 id="[^"]+">([^<]+)</h2>', body)


def jumps(body: str) -> list[tuple[str, str]]:
    """The jump list's links as (month, count)."""
    return re.findall(
        r'<a href="\?month=(\d{4}-\d{2})"[^>]*>(?:<strong>\d{4}</strong>|\w{3}) <small>(\d+)</small>', body
    )


def test_the_timeline_orders_by_date_taken_with_months_as_headings_and_jumps(client, user, bucket) -> None:
    camera_photo(user, title="Summer", make="TestCam", model="TC-1", taken="2021:07:14 18:30:00")
    camera_photo(user, title="Spring", make="TestCam", model="TC-1", taken="2021:04:02 09:00:00")
    camera_photo(user, title="Spring again", make="TestCam", model="TC-1", taken="2021:04:20 09:00:00")
    camera_photo(user, title="Old", make="TestCam", model="TC-1", taken="2018:12:31 23:59:00")
    ready_photo(user, title="Undated")  # no EXIF date: placed by its upload, today
    body = client.get(reverse("timeline", args=[user.username])).content.decode()
    assert titles_in_grid(body)[1:] == ["Summer", "Spring again", "Spring", "Old"]
    assert titles_in_grid(body)[0] == "Undated"
    assert month_headings(body)[1:] == ["July 2021", "April 2021", "December 2018"]
    links = jumps(body)
    assert ("2021-07", "3") in links  # the year 2021, jumping to its newest month
    assert ("2021-04", "2") in links and ("2018-12", "1") in links
    jumped = client.get(reverse("timeline", args=[user.username]) + "?month=2021-04").content.decode()
    assert titles_in_grid(jumped) == ["Spring again", "Spring", "Old"]
    assert 'href="?month=2021-04" aria-current="true"' in jumped
    profile = client.get(reverse("profile", args=[user.username])).content.decode()
    assert f'href="{reverse("timeline", args=[user.username])}"' in profile


def test_visitors_see_public_photos_only_and_a_change_of_visibility_at_once(
    client, user, bucket, django_capture_on_commit_callbacks
) -> None:
    shown = camera_photo(user, title="Shown", make="TestCam", model="TC-1", taken="2021:07:14 18:30:00")
    camera_photo(
        user, title="Mine only", make="TestCam", model="TC-1", taken="2020:01:01 10:00:00", visibility="private"
    )
    url = reverse("timeline", args=[user.username])
    visitor = client.get(url).content.decode()  # cached for visitors from here on
    assert titles_in_grid(visitor) == ["Shown"] and [m for m, _ in jumps(visitor)] == ["2021-07", "2021-07"]
    with django_capture_on_commit_callbacks(execute=True):
        photo_update(photo=shown, title="Shown", caption="", alt_text="", visibility="private")
    after = client.get(url).content.decode()
    assert titles_in_grid(after) == [] and jumps(after) == []
    assert "No public photos yet." in after
    client.force_login(user)
    own = client.get(url).content.decode()
    assert titles_in_grid(own) == ["Shown", "Mine only"]
    assert "Private" in own  # the owner's badge


def test_a_month_that_is_not_one_is_a_400(client, user) -> None:
    response = client.get(reverse("timeline", args=[user.username]) + "?month=2021-13")
    assert response.status_code == 400 and "YYYY-MM" in response.content.decode()
    assert client.get(reverse("timeline", args=["nobody-here"])).status_code == 404


@pytest.mark.parametrize("photo_count", [1, 5])
def test_the_timeline_has_a_fixed_query_count(client, db, bucket, django_assert_num_queries, photo_count) -> None:
    owner = UserFactory()
    for index in range(photo_count):
        camera_photo(
            owner, title=f"Photo {index}", make="TestCam", model="TC-1", taken=f"2021:0{index + 1}:01 10:00:00"
        )
    cache.clear()
    # the person; the months and their counts; the grid's photos with owners; their renditions
    with django_assert_num_queries(4):
        body = client.get(reverse("timeline", args=[owner.username])).content.decode()
    assert len(titles_in_grid(body)) == photo_count

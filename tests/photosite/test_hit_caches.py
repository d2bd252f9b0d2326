"""What a kept page's hit remembers per process (photosite/pagecache.py): the settings it reads,
each Host header's check against ALLOWED_HOSTS, each address's page key, and the bytes of the
pages it served last. None of it may change what is served: a setting changed takes effect on the
next request, an unknown Host still reaches Django and gets its 400, and a page that changed (a
photo made private) is never answered from the bytes this process held.
"""

from __future__ import annotations

import gzip

from apps.photos import services
from apps.photos.models import Visibility
from tests.factories import ready_photo
from tests.photosite import test_wsgi

served = test_wsgi.served  # the fixture: calls photosite.wsgi.application as gunicorn does


def test_a_host_added_to_allowed_hosts_is_served_and_one_taken_out_is_refused_again(served, settings, user, bucket):
    ready_photo(user, title="Breakwater")
    refused = [served("/", HTTP_HOST="photos.example") for _ in range(3)]  # asked again: still Django's 400
    assert [(answer.status, answer.django_ran) for answer in refused] == [("400 Bad Request", True)] * 3

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "photos.example"]
    first = served("/", HTTP_HOST="photos.example")
    assert first.status == "200 OK" and b"Breakwater" in first.body
    assert served("/", HTTP_HOST="photos.example").header["x-page-cache"] == "hit"

    settings.ALLOWED_HOSTS = [host for host in settings.ALLOWED_HOSTS if host != "photos.example"]
    again = served("/", HTTP_HOST="photos.example")  # its page is still kept, and its check was remembered
    assert again.status == "400 Bad Request" and again.django_ran
    assert "x-page-cache" not in again.header


def test_many_made_up_hosts_are_all_refused_and_the_sites_own_still_served(served, user, bucket):
    ready_photo(user, title="Jetty")
    served("/")
    for number in range(300):  # more than the process remembers
        answer = served("/", HTTP_HOST=f"x{number}.example")
        assert answer.status == "400 Bad Request", number
    kept = served("/")
    assert kept.status == "200 OK" and kept.header["x-page-cache"] == "hit" and b"Jetty" in kept.body


def test_changed_settings_take_effect_on_the_next_request(served, settings, user, bucket):
    ready_photo(user, title="Slipway")
    served("/")
    assert served("/", HTTP_COOKIE="visitor_csrf=abc").django_ran  # not a cookie a visitor's page allows
    settings.CSRF_COOKIE_NAME = "visitor_csrf"
    renamed = served("/", HTTP_COOKIE="visitor_csrf=abc")
    assert not renamed.django_ran and renamed.header["x-page-cache"] == "hit"
    assert served("/", HTTP_COOKIE="csrftoken=abc").django_ran  # the old name is now someone's own cookie

    settings.USE_I18N = False
    untranslated = [served("/", HTTP_ACCEPT_LANGUAGE="de") for _ in range(2)]
    assert [answer.header["content-language"] for answer in untranslated] == ["en", "en"]


def test_a_page_this_process_held_is_not_answered_once_its_photo_is_private(
    served, user, bucket, django_capture_on_commit_callbacks
):
    photo = ready_photo(user, title="Night ferry")
    ready_photo(user, title="Harbour crane")
    for headers in ({}, {"HTTP_ACCEPT_ENCODING": "gzip"}):
        served("/", **headers)
        held = served("/", **headers)  # this process now holds the page's bytes
        assert held.header["x-page-cache"] == "hit" and not held.django_ran

    with django_capture_on_commit_callbacks(execute=True):  # the change's commit bumps the versions
        services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)

    rendered = served("/")
    assert rendered.django_ran and b"Harbour crane" in rendered.body and b"Night ferry" not in rendered.body
    for headers in ({}, {"HTTP_ACCEPT_ENCODING": "gzip"}):
        answers = [served("/", **headers) for _ in range(2)]  # kept again: the new page's bytes
        for answer in answers:
            assert answer.header["x-page-cache"] == "hit", headers
            body = gzip.decompress(answer.body) if "content-encoding" in answer.header else answer.body
            assert body == rendered.body, headers

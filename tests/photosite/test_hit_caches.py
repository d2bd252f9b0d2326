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


def test_the_pages_served_most_recently_are_the_ones_held(served, user, bucket, monkeypatch):
    """A crawler walking many pages lets go of the pages it walked, not of the page every
    other visitor asks for."""
    from photosite import pagecache

    photos = [ready_photo(user, title=f"Photo {index}") for index in range(9)]
    paths = [f"/photos/{photo.pk}/" for photo in photos]
    for path in paths:
        served(path)  # kept in Redis
    store = pagecache._store()
    with store.held_lock:  # what earlier tests in this process left held
        store.held.clear()
        store.held_bytes = 0
    for path in paths[:8]:
        assert served(path).header["x-page-cache"] == "hit"  # and these held by this process

    def held_titles() -> set[bytes]:
        return {held.page.body.split(b"<title>")[1].split(b" ")[1] for held in pagecache._store().held.values()}

    assert held_titles() == {str(index).encode() for index in range(8)}
    largest = max(pagecache._held_size(held) for held in pagecache._store().held.values())
    monkeypatch.setattr(pagecache, "LOCAL_PAGES_BYTES", 8 * largest + 50)  # room for eight

    assert served(paths[0]).header["x-page-cache"] == "hit"  # asked for again: the most recent
    assert served(paths[8]).header["x-page-cache"] == "hit"  # a ninth held: one must go
    assert held_titles() == {b"0", *(str(index).encode() for index in range(2, 9))}  # the least recent


def test_a_very_long_address_is_answered_but_its_key_not_remembered(served, user, bucket):
    from photosite import pagecache

    ready_photo(user, title="Tall ship")
    served("/?" + "&".join(f"x{index}=y" for index in range(200)))
    served("/")
    assert any(address[2] == "/" and address[3] == "" for address in pagecache._keys)
    assert not any(len(address[3]) > 500 for address in pagecache._keys)

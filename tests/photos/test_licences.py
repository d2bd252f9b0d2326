"""A licence per photo: the owner's default for new photos, editable on the photo's form and
the API, shown on the photo page with its deed, and a search filter."""

from __future__ import annotations

import re

from django.urls import reverse
from rest_framework.test import APIClient

from apps.photos.models import Licence, Photo
from tests.factories import PASSWORD, UserFactory, ready_photo


def test_new_photos_take_the_licence_chosen_on_the_profile(client, db, bucket) -> None:
    owner = UserFactory()
    before = ready_photo(owner, title="Before")
    assert before.licence == Licence.ALL_RIGHTS_RESERVED  # nobody chose anything yet
    assert client.login(username=owner.username, password=PASSWORD)
    form = client.get(reverse("profile_edit")).content.decode()
    assert 'name="default_licence"' in form and "All rights reserved" in form
    response = client.post(
        reverse("profile_edit"), {"display_name": "Ann", "bio": "", "default_licence": Licence.CC_BY_SA}
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    after = ready_photo(owner, title="After")
    assert after.licence == Licence.CC_BY_SA
    before.refresh_from_db()
    assert before.licence == Licence.ALL_RIGHTS_RESERVED  # the default changes no photo already up
    refused = client.post(reverse("profile_edit"), {"display_name": "Ann", "bio": "", "default_licence": "gpl"})
    assert refused.status_code == 400
    owner.refresh_from_db()
    assert owner.default_licence == Licence.CC_BY_SA


def test_the_edit_form_changes_the_licence_and_the_page_links_its_deed(
    client, db, bucket, django_capture_on_commit_callbacks
) -> None:
    owner = UserFactory()
    photo = ready_photo(owner)
    page = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert "all rights reserved" in page and 'rel="license"' not in page
    assert client.login(username=owner.username, password=PASSWORD)
    fields = {"title": photo.title, "caption": "", "alt_text": "", "tags": "", "visibility": "public"}
    with django_capture_on_commit_callbacks(execute=True):  # the cached card is forgotten on commit
        response = client.post(reverse("photo_edit", args=[photo.pk]), {**fields, "licence": Licence.CC_BY_NC})
    assert response.status_code == 302
    client.logout()
    page = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert '<a rel="license" href="https://creativecommons.org/licenses/by-nc/4.0/">CC BY-NC 4.0' in page
    assert client.login(username=owner.username, password=PASSWORD)
    bad = client.post(reverse("photo_edit", args=[photo.pk]), {**fields, "licence": "mine-all-mine"})
    assert bad.status_code == 400
    photo.refresh_from_db()
    assert photo.licence == Licence.CC_BY_NC


def test_the_api_shows_and_changes_the_licence(db, bucket) -> None:
    owner = UserFactory(default_licence=Licence.CC0)
    api = APIClient()
    api.force_authenticate(owner)
    photo = ready_photo(owner)
    shown = api.get(f"/api/v1/photos/{photo.pk}/").json()
    assert shown["licence"] == "cc0"
    assert shown["licence_url"] == "https://creativecommons.org/publicdomain/zero/1.0/"
    changed = api.patch(f"/api/v1/photos/{photo.pk}/", {"licence": "all-rights-reserved"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["licence"] == "all-rights-reserved" and changed.json()["licence_url"] is None
    refused = api.patch(f"/api/v1/photos/{photo.pk}/", {"licence": "cc-by-4"}, format="json")
    assert refused.status_code == 400 and "licence" in refused.content.decode()
    assert Photo.objects.get(pk=photo.pk).licence == Licence.ALL_RIGHTS_RESERVED


def test_search_filters_by_licence_on_the_page_and_the_api(client, db, bucket) -> None:
    owner = UserFactory()
    ready_photo(owner, title="Free lake", tags="lake")
    owner.default_licence = Licence.CC_BY
    owner.save(update_fields=["default_licence"])
    ready_photo(owner, title="Shared lake", tags="lake")
    page = client.get(reverse("search") + "?licence=cc-by").content.decode()
    assert re.findall(r'<span class="card-title">([^<]+)</span>', page) == ["Shared lake"]
    assert '<option value="cc-by" selected>' in page
    api = APIClient()
    results = api.get("/api/v1/photos/?q=lake&licence=all-rights-reserved").json()["results"]
    assert [photo["title"] for photo in results] == ["Free lake"]
    assert client.get(reverse("search") + "?licence=nonsense").status_code == 400
    assert api.get("/api/v1/photos/?licence=nonsense").status_code == 400


def test_an_edit_that_sends_no_licence_keeps_the_photos(client, db, bucket) -> None:
    owner = UserFactory(default_licence=Licence.CC_BY)
    photo = ready_photo(owner)
    assert client.login(username=owner.username, password=PASSWORD)
    fields = {"title": "Renamed", "caption": "", "alt_text": "", "visibility": "public"}
    for sent in ({}, {"licence": ""}):  # a form from before licences; an empty choice
        assert client.post(reverse("photo_edit", args=[photo.pk]), {**fields, **sent}).status_code == 302
        photo.refresh_from_db()
        assert (photo.title, photo.licence) == ("Renamed", Licence.CC_BY)

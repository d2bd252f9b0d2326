"""Upload -> queue -> worker -> storage -> page, with every part real.

1. Services mode: the Django test client uploads, a `manage.py rundramatiq` process
   consumes the Redis broker, renditions land in SeaweedFS, and the page links to them.
2. Embedded mode: the site runs as `make run` runs it, with no service variables at
   all, and is driven over HTTP like a browser.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.urls import reverse
from PIL import Image

from apps.photos.models import Photo, PhotoStatus
from compose.local.services.net import wait_until_healthy
from tests.conftest import ROOT, wait_for
from tests.images import camera_exif, jpeg_bytes
from tests.pages import parse_page
from tests.services_plugin import SERVICE_VARIABLES


def assert_rendition_is_clean(data: bytes, width: int, height: int) -> None:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.size == (width, height)
        assert dict(image.getexif()) == {}, "a rendition must carry no EXIF (GPS, camera, author)"
        assert "exif" not in image.info


def test_upload_is_rendered_by_a_real_worker_into_s3_and_shown(client, user, bucket, worker) -> None:
    client.force_login(user)
    # A phone photo: stored landscape, EXIF says "rotate 90°", with GPS and an author.
    original = jpeg_bytes(2400, 1800, exif=camera_exif(orientation=6))
    response = client.post(
        reverse("photo_upload"),
        {"file": io.BytesIO(original), "title": "Harbour", "alt_text": "Boats", "visibility": "public"},
    )
    assert response.status_code == 302, response.content
    photo = Photo.objects.get()

    def rendered() -> bool:
        photo.refresh_from_db()
        return photo.status != PhotoStatus.PROCESSING

    wait_for(rendered, timeout=60, what=f"the worker to render the photo; worker log:\n{worker.log()}")
    assert photo.status == PhotoStatus.READY, photo.failure_reason

    page = client.get(reverse("photo_detail", args=[photo.pk]))
    links = parse_page(page.content.decode()).size_links
    # Shown upright: 1800 wide, 2400 tall at full size, every size scaled from that.
    assert [(link.size, link.width, link.height) for link in links] == [
        (320, 240, 320),
        (640, 480, 640),
        (1280, 960, 1280),
        (2048, 1536, 2048),
    ]
    for link in links:
        assert "Signature=" not in link.url, "public renditions are linked unsigned, for the CDN"
        fetched = requests.get(link.url, timeout=10)  # straight from S3, as a browser would
        assert fetched.status_code == 200
        assert fetched.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert_rendition_is_clean(fetched.content, link.width, link.height)
    assert len(bucket.keys("public/renditions/")) == 8  # 4 sizes in JPEG and in AVIF
    unsigned = requests.get(f"{os.environ['S3_ENDPOINT_URL']}/{bucket.name}/{photo.original.name}", timeout=10)
    assert unsigned.status_code == 403, "originals are never readable without a signature"

    home = parse_page(client.get(reverse("home")).content.decode())
    assert any(image.get("alt") == "Boats" for image in home.images)


@pytest.fixture
def embedded_site(tmp_path: Path, free_tcp_port: int):
    """The site as `make run` starts it: no service variables, everything under one var dir."""
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    env.pop("DJANGO_SECRET_KEY", None)
    env.update({"PHOTOSITE_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1"})
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120)
    seeded = subprocess.run(
        [*manage, "seed_demo"], cwd=ROOT, env=env, check=True, timeout=120, capture_output=True, text=True
    )
    assert "Seeded 3 users and 9 photos." in seeded.stdout
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{free_tcp_port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{free_tcp_port}"
    try:
        wait_until_healthy(base + "/healthz", process=server)
        yield base, tmp_path / "var"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _post_form(
    session: requests.Session, url: str, data: dict[str, str], files=None, *, post_to: str = ""
) -> requests.Response:
    """Post a form of the page at `url` (to `post_to` when its action is another address)."""
    token = parse_page(session.get(url, timeout=10).text).csrf_token
    return session.post(
        post_to or url, data={**data, "csrfmiddlewaretoken": token}, files=files, timeout=30, headers={"Referer": url}
    )


@pytest.mark.embedded
def test_embedded_mode_serves_demo_content_and_renders_a_new_upload(embedded_site) -> None:
    base, var_dir = embedded_site
    assert (var_dir / "photosite.sqlite3").exists()
    visitor = requests.Session()
    home = parse_page(visitor.get(base + "/", timeout=10).text)
    thumbnails = [image for image in home.images if "/media/public/renditions/" in image["src"]]
    assert len(thumbnails) == 9, "the seeded demo photos show on the home grid"
    assert visitor.get(base + thumbnails[0]["src"], timeout=10).status_code == 200

    person = requests.Session()
    signed_up = _post_form(
        person,
        base + "/accounts/signup/",
        {
            "username": "newcomer",
            "email": "new@example.com",
            "display_name": "New Comer",
            "password1": "a fine long password",
            "password2": "a fine long password",
        },
    )
    assert signed_up.status_code == 200 and "New Comer" in signed_up.text
    original = jpeg_bytes(1600, 1200, exif=camera_exif(orientation=1))
    uploaded = _post_form(
        person,
        base + "/upload/",
        {"title": "My first", "caption": "", "alt_text": "A test picture", "visibility": "private"},
        files={"file": ("first.jpg", original, "image/jpeg")},
    )
    assert uploaded.status_code == 200 and "/photos/" in uploaded.url
    photo_url = uploaded.url

    def rendered_page() -> str | None:
        text = person.get(photo_url, timeout=10).text
        return None if "Processing…" in text else text

    page = parse_page(str(wait_for(rendered_page, timeout=60, what="the in-process worker")))
    assert [(link.size, link.width, link.height) for link in page.size_links] == [
        (320, 320, 240),
        (640, 640, 480),
        (1280, 1280, 960),
        (2048, 1600, 1200),
    ]
    for link in page.size_links:
        fetched = person.get(base + link.url, timeout=10)
        assert fetched.status_code == 200
        assert_rendition_is_clean(fetched.content, link.width, link.height)
        # The photo is private: its images are signed URLs, as on S3 (whoever holds one may
        # fetch it for an hour); the bare address or a forged signature gets nothing.
        path, _, signature = link.url.partition("?sig=")
        assert signature, "a private rendition's URL is signed"
        assert visitor.get(base + path, timeout=10).status_code == 404
        assert visitor.get(f"{base}{path}?sig={signature[:-2]}xx", timeout=10).status_code == 404
    assert visitor.get(photo_url, timeout=10).status_code == 404

    # A share link opens the private photo to someone without an account, its images too.
    made = _post_form(person, photo_url, {"expires": "7", "password": ""}, post_to=photo_url + "shares/")
    assert made.status_code == 200 and made.url.startswith(photo_url)
    share = re.search(r'class="share-url" value="([^"]+/s/[^"]+)"', made.text)
    assert share, "the owner's page lists the new link"
    opened = visitor.get(share.group(1), timeout=10).text
    assert "My first" in opened
    shared = parse_page(opened)
    shown_images = [image["src"] for image in shared.images if "/media/" in image["src"]]
    assert shown_images and all(visitor.get(base + src, timeout=10).status_code == 200 for src in shown_images)

    # Made unlisted, it opens by its link only, images included (served by Django here).
    details = {"title": "My first", "caption": "", "alt_text": "A test picture", "tags": "", "show_camera_facts": "on"}
    assert _post_form(person, photo_url + "edit/", {**details, "visibility": "unlisted"}).status_code == 200
    shown = re.search(r'id="share-url"[^>]* value="([^"]+)"', person.get(photo_url, timeout=10).text)
    assert shown, "the owner's page shows the link"
    assert visitor.get(photo_url, timeout=10).status_code == 404

    def public_links() -> bool:
        links = parse_page(visitor.get(shown.group(1), timeout=10).text).size_links
        return bool(links) and all("/media/public/" in link.url for link in links)

    wait_for(public_links, timeout=60, what="the renditions moving to public/")
    for link in parse_page(visitor.get(shown.group(1), timeout=10).text).size_links:
        assert visitor.get(base + link.url, timeout=10).status_code == 200


@pytest.mark.embedded
def test_embedded_mode_searches_tags_albums_and_likes_of_the_demo(embedded_site) -> None:
    """SQLite has no full-text search: the fallback finds every word in a title, tag or name."""
    base, _ = embedded_site
    visitor = requests.Session()

    def titles(path: str) -> list[str]:
        return re.findall(r'<span class="card-title">([^<]+)</span>', visitor.get(base + path, timeout=10).text)

    assert sorted(titles("/search/?q=mountains")) == ["Evening ridge", "Morning fog", "Quiet peaks", "Violet valley"]
    assert sorted(titles("/search/?q=ridge+demo")) == ["Evening ridge"]  # title word and owner's name
    assert titles("/search/?q=zeppelin") == []
    assert titles("/explore/")[:2] == ["Blue hour", "Coastline"]  # 2 likes, then 1 (newer first among equals)
    assert len(titles("/albums/1/")) == 3


@pytest.mark.embedded
def test_embedded_mode_renders_the_first_upload_after_a_start_once(embedded_site) -> None:
    """The upload whose job starts the in-process worker is not also taken for work a
    restart left behind (the start-up requeue looks only at photos from before this
    process started), so it is rendered once, not twice at the same time."""
    base, var_dir = embedded_site
    server_log = var_dir.parent / "server.log"
    person = requests.Session()
    # Both field names: Django's login form calls it username, allauth's login.
    logged_in = _post_form(
        person, base + "/accounts/login/", {"login": "demo", "username": "demo", "password": "photosite-demo"}
    )
    assert logged_in.status_code == 200 and "Demo Person" in logged_in.text
    # Big enough that rendering takes a while: a second job for it would overlap the first.
    original = jpeg_bytes(4000, 3000, seed=7)
    uploaded = _post_form(
        person,
        base + "/upload/",
        {"title": "First after start", "caption": "", "alt_text": "", "visibility": "public"},
        files={"file": ("first.jpg", original, "image/jpeg")},
    )
    found = re.search(r"/photos/(\d+)/", uploaded.url)
    assert found, f"the upload did not lead to its photo page: {uploaded.status_code} {uploaded.url}"
    photo_id = int(found.group(1))

    def rendered() -> bool:
        return "Processing…" not in person.get(uploaded.url, timeout=10).text

    wait_for(rendered, timeout=90, what="the in-process worker")
    time.sleep(3)  # time for a second job, were there one, to finish too
    made = re.findall(rf"renditions made for photo {photo_id}:", server_log.read_text())
    assert len(made) == 1, f"rendered {len(made)} times:\n{server_log.read_text()[-3000:]}"

"""Languages: the German catalogue is complete, the switcher and the browser's language
pick it, and pages come out in it, plurals, dates and numbers included."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.social.services import comment_create
from tests.factories import PhotoRowFactory, UserFactory

LOCALE = Path(settings.BASE_DIR) / "photosite" / "locale"
GERMAN_PO = LOCALE / "de" / "LC_MESSAGES" / "django.po"
GERMAN_MO = GERMAN_PO.with_suffix(".mo")
# The same exclusions as README's makemessages command: what is not the site's own pages.
MAKEMESSAGES_IGNORE = [".venv/*", "var/*", "bench/*", "tests/*", "compose/*", "static/*", "docs/*"]


def msgfmt_statistics(po: Path) -> str:
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt is missing: `make services` installs Debian's gettext package"
    done = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True, check=True
    )
    return done.stderr


def test_the_german_catalogue_has_no_untranslated_or_fuzzy_entry() -> None:
    statistics = msgfmt_statistics(GERMAN_PO)
    assert "translated message" in statistics, statistics
    assert "untranslated" not in statistics and "fuzzy" not in statistics, statistics


def test_every_translatable_string_of_the_site_is_translated_to_german(tmp_path, monkeypatch, settings) -> None:
    """makemessages over the code as it is now, merged into a copy of the catalogue: a string
    marked for translation and missing from django.po (or changed since) comes out untranslated."""
    copy = tmp_path / "de" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copy(GERMAN_PO, copy)
    # On a copy of the code: makemessages writes each template's text beside it (base.html.py)
    # and deletes it afterwards, so another test run doing the same in the checkout would delete
    # files this one's xgettext is about to read. What README's command ignores is not copied,
    # nor the real locale directory (makemessages would adopt it and write there).
    source = tmp_path / "source"
    for directory in sorted(Path(settings.BASE_DIR).iterdir()):
        ignored = any(directory.match(pattern.rstrip("/*")) for pattern in MAKEMESSAGES_IGNORE)
        tooling = directory.name.startswith(".") or directory.name.endswith(".egg-info")  # .git, caches
        if directory.is_dir() and not ignored and not tooling:
            shutil.copytree(directory, source / directory.name, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    monkeypatch.chdir(source)
    settings.LOCALE_PATHS = [tmp_path]
    call_command("makemessages", locale=["de"], no_location=True, no_obsolete=True, ignore_patterns=MAKEMESSAGES_IGNORE)
    statistics = msgfmt_statistics(copy)
    untranslated = re.findall(r'\nmsgid "((?:[^"\\]|\\.)*)"\nmsgstr ""\n\n', copy.read_text())
    assert "untranslated" not in statistics and "fuzzy" not in statistics, (
        f"{statistics}: run makemessages and translate (README, Languages): {untranslated}"
    )


def test_the_committed_mo_file_is_the_compiled_po_file(tmp_path) -> None:
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(GERMAN_PO)], check=True)
    with compiled.open("rb") as fresh, GERMAN_MO.open("rb") as committed:
        expected, actual = gettext.GNUTranslations(fresh), gettext.GNUTranslations(committed)
    # _catalog: every message and plural form, which typeshed does not declare.
    assert actual._catalog == expected._catalog, "compile it: msgfmt -o django.mo django.po (README, Languages)"  # type: ignore[attr-defined]


def test_the_footer_switcher_remembers_german_and_every_page_follows(client: Client, db: None) -> None:
    owner = UserFactory(username="anna")
    spring = PhotoRowFactory(owner=owner, title="Frühling", timeline_at=datetime(2025, 3, 14, 12, tzinfo=UTC))
    comment_create(author=UserFactory(), photo=spring, body="Schön!")

    english = client.get(reverse("home")).content.decode()
    assert '<html lang="en">' in english and "Latest photos" in english
    assert 'action="/i18n/setlang/"' in english and 'name="language"' in english

    response = client.post(reverse("set_language"), {"language": "de", "next": reverse("profile", args=["anna"])})
    assert response.status_code == 302 and response["Location"] == reverse("profile", args=["anna"])
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"

    home = client.get(reverse("home")).content.decode()
    assert '<html lang="de">' in home and "Neueste Fotos" in home and "Latest photos" not in home
    photo_page = client.get(reverse("photo_detail", args=[spring.pk])).content.decode()
    # German's plural forms: one comment, zero likes.
    assert "<strong>1</strong> Kommentar</a>" in photo_page and "<strong data-like-count>0</strong> Likes" in photo_page
    assert "folgt <strong>0</strong>" in client.get(reverse("profile", args=["anna"])).content.decode()
    timeline = client.get(reverse("timeline", args=["anna"])).content.decode()
    assert ">März 2025</h2>" in timeline and "Zeitleiste" in timeline  # month names in German
    # The scripts' words come in the page too.
    assert '"Photo viewer": "Fotobetrachter"' in home


def test_numbers_on_a_german_page_use_the_german_decimal_comma(client: Client, db: None) -> None:
    client.force_login(UserFactory())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    with translation.override("de"):
        limit = filesizeformat(settings.PHOTO_MAX_UPLOAD_BYTES)
    assert "," in limit
    page = client.get(reverse("photo_upload")).content.decode()
    assert f"je bis zu {limit} und" in page


def test_without_a_choice_the_browsers_language_decides_and_caches_are_told(client: Client, db: None) -> None:
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    assert "Neueste Fotos" in response.content.decode()
    assert response["Content-Language"] == "de"
    assert "Accept-Language" in response["Vary"]
    # A language nobody translated falls back to English.
    assert "Latest photos" in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    # The cookie wins over the browser's header.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Latest photos" in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de").content.decode()


def test_an_unknown_language_sets_nothing_and_an_outside_next_stays_on_the_site(client: Client, db: None) -> None:
    response = client.post(reverse("set_language"), {"language": "xx", "next": "/explore/"})
    assert response.status_code == 302 and response["Location"] == "/explore/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    response = client.post(reverse("set_language"), {"language": "de", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"

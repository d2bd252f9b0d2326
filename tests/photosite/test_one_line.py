"""Titles and names stay on one line, whichever door they come in by: they are shown inside
sentences, on cards and in plain-text emails to other people."""

from __future__ import annotations

from apps.accounts.services import profile_update
from apps.albums.services import album_create
from apps.photos.services import photo_update
from photosite.text import one_line
from tests.factories import UserFactory, ready_photo


def test_line_breaks_tabs_and_control_characters_become_single_spaces() -> None:
    assert one_line("  Fog\r\n\n at\tdawn\u2028here\u200b ") == "Fog at dawn here"
    assert one_line("\n\t ") == ""


def test_a_photo_title_an_album_title_and_a_display_name_are_stored_on_one_line(db, bucket) -> None:
    ann = UserFactory()
    photo = ready_photo(ann, title="Harbour")
    photo_update(
        photo=photo, title="fog\n\nSECURITY NOTICE", caption="two\nlines stay", alt_text="", visibility="public"
    )
    photo.refresh_from_db()
    assert (photo.title, photo.caption) == ("fog SECURITY NOTICE", "two\nlines stay")
    photo_update(photo=photo, title="\n\n", caption="", alt_text="", visibility="public")
    photo.refresh_from_db()
    assert photo.title == "fog SECURITY NOTICE"  # nothing but breaks keeps the title it had

    assert album_create(owner=ann, title="Summer\n2026").title == "Summer 2026"
    profile_update(user=ann, display_name="Ann\nAdmin team", bio="line one\nline two")
    ann.refresh_from_db()
    assert (ann.display_name, ann.bio) == ("Ann Admin team", "line one\nline two")

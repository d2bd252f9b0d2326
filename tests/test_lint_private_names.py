"""The private-name check `make lint` runs (tests/lint_private_names.py), on a small tree of its own."""

from __future__ import annotations

from pathlib import Path

from tests.lint_private_names import find_violations


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for package in ("apps", "apps/photos", "apps/albums", "photosite"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").touch()
    return root


PHOTOS = {
    "apps/photos/selectors.py": "def _with_card_data(q): return q\ndef photo_list(): return []\n",
    "apps/photos/models.py": "class Photo: ...\n",
    "apps/photos/_internal.py": "x = 1\n",
    "photosite/storage.py": "def _client(): ...\n",
}


def reached(root: Path, source: str) -> list[str]:
    tree(root, {**PHOTOS, "apps/albums/selectors.py": source})
    return [violation.name for violation in find_violations([root / "apps" / "albums"], root=root)]


def test_importing_another_apps_private_name_is_reported(tmp_path: Path) -> None:
    assert reached(tmp_path, "from apps.photos.selectors import _with_card_data, photo_list\n") == [
        "apps.photos.selectors._with_card_data"
    ]


def test_reaching_a_private_name_through_a_module_is_reported_however_it_was_imported(tmp_path: Path) -> None:
    source = (
        "import apps.photos.selectors\n"
        "import apps.photos.selectors as photo_selectors\n"
        "from apps.photos import selectors\n"
        "from photosite import storage\n"
        "apps.photos.selectors._with_card_data(1)\n"
        "photo_selectors._with_card_data(2)\n"
        "selectors._with_card_data(3)\n"
        "storage._client()\n"
    )
    assert reached(tmp_path, source) == [
        "apps.photos.selectors._with_card_data",
        "apps.photos.selectors._with_card_data",
        "apps.photos.selectors._with_card_data",
        "photosite.storage._client",
    ]


def test_another_apps_private_module_is_reported(tmp_path: Path) -> None:
    assert reached(tmp_path, "from apps.photos._internal import x\nimport apps.photos._internal\n") == [
        "apps.photos._internal",
        "apps.photos._internal",
    ]


def test_public_names_dunders_object_attributes_and_own_privates_pass(tmp_path: Path) -> None:
    source = (
        "from apps.photos.models import Photo\n"
        "from apps.photos import selectors\n"
        "from apps.albums.models import _own_helper\n"
        "Photo._meta\n"
        "selectors.__name__\n"
        "selectors.photo_list()\n"
    )
    assert reached(tmp_path, source) == []

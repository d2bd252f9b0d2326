"""The checks `make lint` runs from tests/lint_private_names.py (private names across apps, in-function
imports without a reason), on a small tree of their own."""

from __future__ import annotations

from pathlib import Path

from tests.lint_private_names import find_uncommented_imports, find_violations


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


# --- Imports of our own code inside functions ---------------------------------------------


def uncommented(root: Path, source: str) -> list[str]:
    tree(root, {**PHOTOS, "apps/albums/services.py": source})
    return [found.module for found in find_uncommented_imports([root / "apps" / "albums"], root=root)]


def test_an_import_of_our_code_inside_a_function_without_a_reason_is_reported(tmp_path: Path) -> None:
    source = (
        "def f():\n"
        "    from apps.photos.selectors import photo_list\n"
        "    import photosite.storage\n"
        "    from . import models\n"
        "    return photo_list\n"
    )
    assert uncommented(tmp_path, source) == ["apps.photos.selectors", "photosite.storage", "apps.albums"]


def test_a_comment_on_the_line_or_above_the_run_of_imports_is_a_reason(tmp_path: Path) -> None:
    source = (
        "def ready():\n"
        "    # Imported here: models load after the app registry.\n"
        "    from apps.photos.models import Photo\n"
        "    from photosite.storage import (\n"
        "        object_list,\n"
        "    )\n"
        "\n"
        "def enqueue():\n"
        "    from apps.photos.selectors import photo_list  # tasks import this module\n"
    )
    assert uncommented(tmp_path, source) == []


def test_top_level_and_other_peoples_imports_in_functions_pass(tmp_path: Path) -> None:
    source = (
        "from apps.photos.models import Photo\n"
        "def f():\n"
        "    import json\n"
        "    from django.conf import settings\n"
        "    return json, settings, Photo\n"
    )
    assert uncommented(tmp_path, source) == []

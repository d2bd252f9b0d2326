"""README's layout table and docs/ARCHITECTURE.md name what is in the tree: a new app, seam or
top-level directory that neither mentions leaves a newcomer guessing where things live."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_OURS = {"var", "__pycache__", "node_modules"}  # made by running things, not kept in git
PHOTOSITE_WIRING = {"__init__", "settings", "urls", "wsgi", "gunicorn.conf"}  # wiring and configuration, not seams


def layout_rows() -> dict[str, str]:
    """README's layout table: each row's first cell, and the whole row."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {row.split("|")[1].strip(): row for row in rows}


def apps() -> list[str]:
    return sorted(path.parent.name for path in (ROOT / "apps").glob("*/__init__.py"))


def seams() -> list[str]:
    return sorted(path.stem for path in (ROOT / "photosite").glob("*.py") if path.stem not in PHOTOSITE_WIRING)


def test_the_readme_layout_table_has_a_row_for_every_app_and_top_level_directory() -> None:
    first_cells = " ".join(layout_rows())
    for app in apps():
        assert f"`apps/{app}`" in first_cells, f"README's layout table has no row for apps/{app}"
    directories = [
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.name not in NOT_OURS
        if not path.name.endswith(".egg-info")
    ]
    for directory in directories:
        assert f"`{directory}/" in first_cells, f"README's layout table does not say what {directory}/ is"


def test_the_readme_names_every_seam_in_photosite() -> None:
    row = layout_rows()["`photosite/`"]
    missing = [name for name in seams() if f"`{name}.py`" not in row]
    assert not missing, f"README's photosite/ row does not name {missing}"


def test_the_architecture_picture_shows_every_app_and_seam() -> None:
    architecture = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    picture = architecture.split("## The picture", 1)[1].split("```", 2)[1]
    words = set(re.findall(r"[a-z_]+", picture))
    missing = [name for name in [*apps(), *seams()] if name not in words]
    assert not missing, f"docs/ARCHITECTURE.md's picture does not show {missing}"

"""Which environment variables photosite reads: found in its source, not listed by hand,
so a manifest that sets a variable nothing reads (a typo, a renamed setting) shows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

_PYTHON_READS = re.compile(
    r"""(?:\benv(?:\.\w+)?\(\s*|os\.environ\.get\(\s*|os\.environ\[\s*|os\.getenv\(\s*)["']([A-Z][A-Z0-9_]*)["']"""
    r"""|["']([A-Z][A-Z0-9_]*)["']\s+in\s+(?:env|os\.environ)\b"""
)
_SHELL_READS = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")

# Read by libraries, not by our code.
LIBRARY_VARIABLES = {
    "PROMETHEUS_MULTIPROC_DIR": "prometheus_client (django-prometheus) adds up gunicorn workers' metrics",
}


def variables_photosite_reads() -> set[str]:
    """Settings and the modules it reads the environment through (photosite/), gunicorn's
    config, and the container's start scripts (compose/production/django/)."""
    found: set[str] = set(LIBRARY_VARIABLES)
    for path in (ROOT / "photosite").rglob("*.py"):
        for match in _PYTHON_READS.finditer(path.read_text()):
            found.add(match.group(1) or match.group(2))
    for path in (ROOT / "compose" / "production" / "django").iterdir():
        if path.is_file() and path.read_text().startswith("#!/usr/bin/env bash"):
            found.update(_SHELL_READS.findall(path.read_text()))
    return found

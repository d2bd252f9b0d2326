"""What a rendition worker loads: every module it imports stays in its memory for life, and
four jobs of a 24 MP HEIC already take it near its 200 MB budget (docs/PERFORMANCE.md)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY_FOR_NOTHING = ["rest_framework.serializers", "requests", "yaml", "pygments"]


def test_a_worker_process_does_not_load_the_apis_serializers_or_what_they_import() -> None:
    probe = (
        "import sys, django; django.setup(); import apps.photos.tasks; "
        f"print(' '.join(name for name in {HEAVY_FOR_NOTHING!r} if name in sys.modules))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "photosite.settings"}
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    assert loaded == [], f"a worker imports {loaded} (about 6 MB it never uses)"

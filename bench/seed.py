"""Seed a benchmark database with users and ready photos through the real services.

Run inside the benchmark's environment: `python bench/seed.py COUNT`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosite.settings")

import django

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402

from apps.accounts.services import user_create  # noqa: E402
from apps.photos.demo_images import landscape_jpeg  # noqa: E402
from apps.photos.services import photo_create, rendition_make_all  # noqa: E402


def main(count: int) -> None:
    users = [user_create(username=f"bench{index}", password="bench-password-1") for index in range(10)]
    for index in range(count):
        data = landscape_jpeg(width=1200, height=800, seed=index, quality=80)
        photo = photo_create(
            owner=users[index % len(users)],
            upload=SimpleUploadedFile(f"bench-{index}.jpg", data, content_type="image/jpeg"),
            title=f"Benchmark photo {index}",
            tags=[f"topic{index % 10}"],  # ten tag pages, for the benchmarks that read one
        )
        rendition_make_all(photo_id=photo.pk)
        print(photo.pk)


if __name__ == "__main__":
    main(int(sys.argv[1]))

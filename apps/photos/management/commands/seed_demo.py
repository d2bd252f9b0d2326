"""Create a few demo users and photos so a fresh site is not empty. Safe to rerun."""

from __future__ import annotations

import dramatiq
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.photos.demo_images import landscape_jpeg
from apps.photos.services import photo_create

DEMO_PASSWORD = "photosite-demo"
DEMO_USERS = [("demo", "Demo Person"), ("alice", "Alice Lens"), ("bob", "Bob Shutter")]
DEMO_PHOTOS = [
    ("Evening ridge", 1600, 1067),
    ("Blue hour", 1200, 1600),
    ("Violet valley", 2400, 1350),
    ("Dune line", 1600, 1200),
    ("Coastline", 2000, 1000),
    ("Morning fog", 1400, 1400),
    ("Long light", 1800, 1200),
    ("Quiet peaks", 1280, 960),
    ("Last sun", 1080, 1350),
]


class Command(BaseCommand):
    help = "Create demo users (password: photosite-demo) and a few generated photos."

    def handle(self, *args: object, **options: object) -> None:
        if User.objects.filter(username="demo").exists():
            self.stdout.write("Demo content already present.")
            return
        users = [
            user_create(username=name, password=DEMO_PASSWORD, display_name=shown, email=f"{name}@example.com")
            for name, shown in DEMO_USERS
        ]
        for index, (title, width, height) in enumerate(DEMO_PHOTOS):
            data = landscape_jpeg(width=width, height=height, seed=index)
            photo_create(
                owner=users[index % len(users)],
                upload=SimpleUploadedFile(f"{title}.jpg", data, content_type="image/jpeg"),
                title=title,
                caption="A generated demo picture.",
                alt_text=f"Generated landscape: {title.lower()}",
            )
        broker = dramatiq.get_broker()
        if hasattr(broker, "wait_until_idle"):  # embedded mode: finish before the process exits
            broker.wait_until_idle()
        self.stdout.write(self.style.SUCCESS(f"Seeded {len(users)} users and {len(DEMO_PHOTOS)} photos."))

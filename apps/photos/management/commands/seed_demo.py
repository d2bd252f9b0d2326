"""Create a few demo users and photos so a fresh site is not empty, and a staff account
so the operators' pages (/ops/, /admin/) can be tried too. Safe to rerun."""

from __future__ import annotations

import dramatiq
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.albums.services import album_add_photos, album_create
from apps.photos.demo_images import landscape_jpeg
from apps.photos.services import photo_create
from apps.photos.tags import tags_parse
from apps.social.services import comment_create, follow_set, like_set

DEMO_PASSWORD = "photosite-demo"  # noqa: S105 (printed by make run for the embedded demo; never a production account)
DEMO_USERS = [("demo", "Demo Person"), ("alice", "Alice Lens"), ("bob", "Bob Shutter")]
# Staff and superuser: sees /ops/ and everything in /admin/. Same password, printed by make run.
DEMO_STAFF = ("operator", "Site Operator")
DEMO_PHOTOS = [
    ("Evening ridge", 1600, 1067, "mountains sunset"),
    ("Blue hour", 1200, 1600, "dusk city"),
    ("Violet valley", 2400, 1350, "mountains valley"),
    ("Dune line", 1600, 1200, "desert"),
    ("Coastline", 2000, 1000, "sea coast"),
    ("Morning fog", 1400, 1400, "fog mountains"),
    ("Long light", 1800, 1200, "sunset"),
    ("Quiet peaks", 1280, 960, "mountains"),
    ("Last sun", 1080, 1350, "sunset sea"),
]


class Command(BaseCommand):
    help = "Create demo users and a staff account (password: photosite-demo) and a few generated photos."

    def handle(self, *args: object, **options: object) -> None:
        self.staff_ensure()  # also in a demo seeded before there was one
        if User.objects.filter(username="demo").exists():
            self.stdout.write("Demo content already present.")
            return
        users = [
            user_create(username=name, password=DEMO_PASSWORD, display_name=shown, email=f"{name}@example.com")
            for name, shown in DEMO_USERS
        ]
        photos = []
        for index, (title, width, height, tags) in enumerate(DEMO_PHOTOS):
            data = landscape_jpeg(width=width, height=height, seed=index)
            photos.append(
                photo_create(
                    owner=users[index % len(users)],
                    upload=SimpleUploadedFile(f"{title}.jpg", data, content_type="image/jpeg"),
                    title=title,
                    caption="A generated demo picture.",
                    alt_text=f"Generated landscape: {title.lower()}",
                    tags=tags_parse(tags),
                )
            )
        demo, alice, bob = users
        follow_set(follower=demo, followee=alice, following=True)
        follow_set(follower=bob, followee=alice, following=True)
        follow_set(follower=alice, followee=demo, following=True)
        for liker, photo in [(demo, photos[1]), (bob, photos[1]), (demo, photos[4]), (alice, photos[0])]:
            like_set(user=liker, photo=photo, liked=True)
        comment_create(author=demo, photo=photos[1], body="Lovely colours in this one.")
        comment_create(author=bob, photo=photos[1], body="Where was this taken?")
        album = album_create(owner=demo, title="Mountains", description="Ridges and peaks.")
        album_add_photos(album=album, photo_ids=[photo.pk for photo in photos if photo.owner_id == demo.pk])
        broker = dramatiq.get_broker()
        if hasattr(broker, "wait_until_idle"):  # embedded mode: finish before the process exits
            broker.wait_until_idle()
        self.stdout.write(self.style.SUCCESS(f"Seeded {len(users)} users and {len(DEMO_PHOTOS)} photos."))

    def staff_ensure(self) -> None:
        username, shown = DEMO_STAFF
        if User.objects.filter(username=username).exists():
            return
        staff = user_create(
            username=username, password=DEMO_PASSWORD, display_name=shown, email=f"{username}@example.com"
        )
        staff.is_staff = staff.is_superuser = True
        staff.save(update_fields=["is_staff", "is_superuser"])
        self.stdout.write(f"Created the staff account {username} (/ops/ and /admin/).")

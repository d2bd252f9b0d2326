"""Profile and tag counts are kept by the photo services in sharded counters from now on
(counting a busy profile's 50k rows was the page's cost): fill them from the photos."""

from django.db import migrations
from django.utils import timezone

EXACT = {
    "user.public_photos": """SELECT p.owner_id AS object_id, COUNT(*) AS total FROM photos_photo p
        WHERE p.visibility = 'public' AND p.status = 'ready' AND p.hidden_at IS NULL GROUP BY p.owner_id""",
    "user.ready_photos": "SELECT p.owner_id AS object_id, COUNT(*) AS total FROM photos_photo p WHERE p.status = 'ready' GROUP BY p.owner_id",
    "tag.public_photos": """SELECT pt.tag_id AS object_id, COUNT(*) AS total FROM photos_photo_tags pt
        JOIN photos_photo p ON p.id = pt.photo_id JOIN accounts_user u ON u.id = p.owner_id AND u.is_active
        WHERE p.visibility = 'public' AND p.status = 'ready' AND p.hidden_at IS NULL GROUP BY pt.tag_id""",
}


def fill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name, exact in EXACT.items():
            cursor.execute(
                "INSERT INTO photosite_counter (name, object_id, shard, value, changed_at) "
                f"SELECT %s, exact_rows.object_id, 0, exact_rows.total, %s FROM ({exact}) exact_rows",  # noqa: S608
                [name, timezone.now()],
            )


def empty(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM photosite_counter WHERE name IN ({', '.join(['%s'] * len(EXACT))})", list(EXACT))


class Migration(migrations.Migration):
    dependencies = [("photos", "0007_photo_incoming_key"), ("photosite", "0002_counter")]

    operations = [migrations.RunPython(fill, empty)]

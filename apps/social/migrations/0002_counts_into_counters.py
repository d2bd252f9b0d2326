"""Counts move into sharded counters (photosite/counters.py): fill them from the rows.

Likes, comments, followers and following were columns moved on every click; from now on
the counters are the truth and the columns a copy. Only active people's likes, shown
comments and follows count (as apps.social.services.EXACT_COUNTS says).
"""

from django.db import migrations
from django.utils import timezone

EXACT = {
    "photo.likes": """SELECT l.photo_id AS object_id, COUNT(*) AS total FROM social_like l
        JOIN accounts_user u ON u.id = l.user_id AND u.is_active GROUP BY l.photo_id""",
    "photo.comments": """SELECT c.photo_id AS object_id, COUNT(*) AS total FROM social_comment c
        JOIN accounts_user u ON u.id = c.author_id AND u.is_active WHERE c.hidden_at IS NULL GROUP BY c.photo_id""",
    "user.followers": """SELECT f.followee_id AS object_id, COUNT(*) AS total FROM social_follow f
        JOIN accounts_user u ON u.id = f.follower_id AND u.is_active GROUP BY f.followee_id""",
    "user.following": """SELECT f.follower_id AS object_id, COUNT(*) AS total FROM social_follow f
        JOIN accounts_user u ON u.id = f.followee_id AND u.is_active GROUP BY f.follower_id""",
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
    dependencies = [
        ("social", "0001_initial"),
        ("photosite", "0002_counter"),
        ("accounts", "0002_avatar_follow_counts"),
    ]

    operations = [migrations.RunPython(fill, empty)]

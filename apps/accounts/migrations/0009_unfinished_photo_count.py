from django.db import migrations, models

# Existing people start with the count their photos give (processing or failed: not ready).
FILL = """
UPDATE accounts_user SET unfinished_photo_count = (
    SELECT COUNT(*) FROM photos_photo p WHERE p.owner_id = accounts_user.id AND p.status <> 'ready')
WHERE id IN (SELECT owner_id FROM photos_photo WHERE status <> 'ready')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_notification_preferences"),
        ("photos", "0013_photo_owner_public_idx"),  # photos_photo, which the fill reads
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="unfinished_photo_count",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop),
    ]

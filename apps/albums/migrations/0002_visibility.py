"""Albums get their own visibility (every existing album stays public, as it was) and a random
key their unlisted link's token is made from: added empty, filled one per album, then unique."""

import uuid

from django.db import migrations, models


def keys_fill(apps, schema_editor):
    Album = apps.get_model("albums", "Album")
    for album in Album.objects.filter(key__isnull=True).only("pk").iterator():
        Album.objects.filter(pk=album.pk).update(key=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("albums", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="album",
            name="visibility",
            field=models.CharField(
                choices=[
                    ("public", "Public"),
                    ("unlisted", "Unlisted (anyone with the link)"),
                    ("private", "Private (only me)"),
                ],
                db_default="public",
                default="public",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="album",
            name="key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(keys_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="album",
            name="key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]

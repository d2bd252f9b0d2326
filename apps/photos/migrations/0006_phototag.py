"""Give the photo–tag table a model and the photo's upload time, indexed (tag, time), for tag pages.

The table Django made for the plain many-to-many stays: the model takes it over
in the migration state only; the database gains one column, backfilled, and an index.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("photos", "0005_search_gin_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PhotoTag",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("photo", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="photos.photo")),
                        ("tag", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="photos.tag")),
                    ],
                    options={"db_table": "photos_photo_tags"},
                ),
                migrations.AlterField(
                    model_name="photo",
                    name="tags",
                    field=models.ManyToManyField(
                        blank=True, related_name="photos", through="photos.PhotoTag", to="photos.tag"
                    ),
                ),
                # The table already has this uniqueness (under Django's generated name).
                migrations.AddConstraint(
                    model_name="phototag",
                    constraint=models.UniqueConstraint(fields=("photo", "tag"), name="photo_tag_once"),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="phototag", name="photo_created_at", field=models.DateTimeField(null=True)
        ),
        migrations.RunSQL(
            "UPDATE photos_photo_tags SET photo_created_at = "
            "(SELECT created_at FROM photos_photo WHERE photos_photo.id = photos_photo_tags.photo_id)",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(model_name="phototag", name="photo_created_at", field=models.DateTimeField()),
        migrations.AddIndex(
            model_name="phototag",
            index=models.Index(fields=["tag", "-photo_created_at", "-id"], name="tag_page_idx"),
        ),
    ]

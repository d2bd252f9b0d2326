"""Columns for the timeline and the search filters (camera, lens, the timeline's date), copied
from the stored camera facts, and the index duplicate uploads are found by.

The copy repeats apps.photos.services.camera_copies_set as it is today: a migration keeps
working whatever that function later becomes.
"""

from datetime import UTC, datetime

import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def copy_camera_facts(apps, schema_editor):  # type: ignore[no-untyped-def]
    Photo = apps.get_model("photos", "Photo")
    batch = []
    photos = Photo.objects.only("pk", "camera_facts", "show_camera_facts", "created_at").order_by("pk")
    for photo in photos.iterator(chunk_size=1000):
        facts = photo.camera_facts or {}
        photo.camera = f"{facts.get('make', '')} {facts.get('model', '')}".strip()[:201]
        photo.lens = str(facts.get("lens", ""))[:100]
        photo.timeline_at = photo.created_at
        if photo.show_camera_facts and facts.get("taken_at"):
            try:
                photo.timeline_at = datetime.strptime(str(facts["taken_at"]), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            except ValueError:
                pass  # not a date a camera wrote: the upload time stands
        batch.append(photo)
        if len(batch) >= 1000:
            Photo.objects.bulk_update(batch, ["camera", "lens", "timeline_at"])
            batch = []
    Photo.objects.bulk_update(batch, ["camera", "lens", "timeline_at"])


class Migration(migrations.Migration):

    dependencies = [
        ('photos', '0009_unfinished_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='photo',
            name='camera',
            field=models.CharField(blank=True, default='', max_length=201),
        ),
        migrations.AddField(
            model_name='photo',
            name='lens',
            field=models.CharField(blank=True, default='', max_length=100),
        ),
        migrations.AddField(
            model_name='photo',
            name='timeline_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(copy_camera_facts, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name='photo',
            index=models.Index(fields=['owner', '-timeline_at', '-id'], name='photo_timeline_idx'),
        ),
        migrations.AddIndex(
            model_name='photo',
            index=models.Index(fields=['-timeline_at', '-id'], name='photo_dated_idx'),
        ),
        migrations.AddIndex(
            model_name='photo',
            index=models.Index(django.db.models.functions.text.Upper('camera'), models.OrderBy(models.F('timeline_at'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('camera', ''), _negated=True), name='photo_camera_idx'),
        ),
        migrations.AddIndex(
            model_name='photo',
            index=models.Index(django.db.models.functions.text.Upper('lens'), models.OrderBy(models.F('timeline_at'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('lens', ''), _negated=True), name='photo_lens_idx'),
        ),
        migrations.AddIndex(
            model_name='photo',
            index=models.Index(fields=['owner', 'original_sha256'], name='photo_owner_sha256_idx'),
        ),
    ]

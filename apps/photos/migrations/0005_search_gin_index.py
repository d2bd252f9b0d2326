"""A GIN index for full-text search. PostgreSQL only: embedded mode (SQLite) searches with LIKE."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS photo_search_idx ON photos_photo USING gin (search_vector)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS photo_search_idx")


class Migration(migrations.Migration):
    dependencies = [("photos", "0004_tags_counts_search")]

    operations = [migrations.RunPython(create_index, drop_index)]

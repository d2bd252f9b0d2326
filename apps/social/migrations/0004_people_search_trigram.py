"""People search (`username` or display name contains a word: ILIKE '%w%') gets trigram
indexes, so it no longer reads every person. PostgreSQL only; SQLite scans, as before.

Django's icontains compares UPPER(column) LIKE UPPER(%s), so the indexes are on UPPER().
Here rather than in accounts, whose user table it indexes: the search that needs them
ranks by follower counts kept in this app.
"""

from django.db import migrations

INDEXES = {
    "accounts_user_username_trgm": "username",
    "accounts_user_display_name_trgm": "display_name",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON accounts_user USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("social", "0003_popular_photo")]

    operations = [migrations.RunPython(create, drop)]

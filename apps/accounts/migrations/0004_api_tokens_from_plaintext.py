"""Carry the old one-per-person plaintext API tokens (rest_framework.authtoken) over as
hashed ApiTokens that keep working until they expire, then empty the old table."""

import hashlib
from datetime import timedelta

from django.db import migrations
from django.utils import timezone

OLD_TABLE = "authtoken_token"
LIFETIME = timedelta(days=90)


def carry_over(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {OLD_TABLE}")  # noqa: S608 (a constant)
        rows = cursor.fetchall()
        now = timezone.now()
        ApiToken.objects.bulk_create(
            ApiToken(
                user_id=user_id,
                name="API token (from before named tokens)",
                digest=hashlib.sha256(key.encode()).hexdigest(),
                hint=key[:4],
                scope="write",
                created_at=created,
                expires_at=now + LIFETIME,
            )
            for key, user_id, created in rows
        )
        cursor.execute(f"DELETE FROM {OLD_TABLE}")  # noqa: S608 (a constant); no plaintext key stays behind


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_tokens_exports_retired_names")]

    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]

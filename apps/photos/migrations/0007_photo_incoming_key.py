"""Record the incoming key a direct upload arrived under, unique, so each grant makes one photo.

Existing rows get NULL (uploads posted to the site have none, and NULLs never collide).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("photos", "0006_phototag")]

    operations = [
        migrations.AddField(
            model_name="photo",
            name="incoming_key",
            field=models.CharField(blank=True, editable=False, max_length=100, null=True, unique=True),
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("photos", "0012_licences"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="photo",
            index=models.Index(
                condition=models.Q(("hidden_at__isnull", True), ("status", "ready"), ("visibility", "public")),
                fields=["owner", "-created_at", "-id"],
                name="photo_owner_public_idx",
            ),
        ),
    ]

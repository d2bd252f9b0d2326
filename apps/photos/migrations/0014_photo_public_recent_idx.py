from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("photos", "0013_photo_owner_public_idx"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="photo",
            index=models.Index(
                condition=models.Q(("hidden_at__isnull", True), ("status", "ready"), ("visibility", "public")),
                fields=["-created_at", "-id"],
                include=["owner"],
                name="photo_public_recent_idx",
            ),
        ),
    ]

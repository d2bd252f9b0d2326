from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("photos", "0014_photo_public_recent_idx"),
    ]

    operations = [
        migrations.CreateModel(
            name="SupersededFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("photo_id", models.BigIntegerField(db_index=True)),
                ("name", models.CharField(max_length=300, unique=True)),
                ("delete_after", models.DateTimeField(db_index=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]

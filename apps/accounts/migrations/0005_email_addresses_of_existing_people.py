"""Give people who signed up before allauth their address as an (unconfirmed) primary
EmailAddress, so the email page shows it, they can confirm it, and changes go through it."""

from django.db import migrations


def addresses_for_existing_people(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    people = User.objects.exclude(email="").exclude(pk__in=EmailAddress.objects.values("user_id"))
    EmailAddress.objects.bulk_create(
        (
            EmailAddress(user_id=person_id, email=email, primary=True, verified=False)
            for person_id, email in people.values_list("pk", "email").iterator(chunk_size=1000)
        ),
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_api_tokens_from_plaintext"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(addresses_for_existing_people, migrations.RunPython.noop)]

"""Prepare object storage for the site: the bucket policy that opens public/* only."""

from django.core.management.base import BaseCommand

from photosite.storage import bucket_policy_apply


class Command(BaseCommand):
    help = "Apply the bucket policy: anyone may read public/* (renditions of public photos), nothing else."

    def handle(self, *args: object, **options: object) -> None:
        if bucket_policy_apply():
            self.stdout.write(self.style.SUCCESS("Bucket policy applied: public/* readable, the rest private."))
        else:
            self.stdout.write("Embedded mode (no S3_BUCKET): nothing to do.")

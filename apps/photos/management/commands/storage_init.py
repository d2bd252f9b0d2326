"""Prepare object storage for the site: the bucket policy that opens public/* only, and the
lifecycle rules that let S3 expire what nobody finished (abandoned direct uploads, export
uploads that died)."""

from typing import Any

from django.core.management.base import BaseCommand

from apps.photos.uploads import INCOMING_PREFIX
from photosite.storage import bucket_lifecycle_apply, bucket_policy_apply

# A direct upload's grant lasts 15 minutes and its completion moves the object at once: a
# day-old one was abandoned. S3 counts lifecycle ages in whole days, one at the least;
# storage_sweep removes them sooner (after its grace, an hour) where it runs.
INCOMING_EXPIRE_DAYS = 1


class Command(BaseCommand):
    help = (
        "Apply the bucket policy (anyone may read public/*, nothing else) and the lifecycle rules "
        "(abandoned uploads under private/incoming/ expire after a day)."
    )

    def handle(self, *args: object, **options: object) -> None:
        if not bucket_policy_apply():
            self.stdout.write("Embedded mode (no S3_BUCKET): nothing to do.")
            return
        self.stdout.write(self.style.SUCCESS("Bucket policy applied: public/* readable, the rest private."))
        rules = bucket_lifecycle_apply(expire={INCOMING_PREFIX: INCOMING_EXPIRE_DAYS}) or []
        for rule in rules:
            self.stdout.write(f"Lifecycle rule {rule.get('ID', '(no id)')}: {_describe(rule)}")


def _describe(rule: dict[str, Any]) -> str:
    """One rule as S3 stored it, in words (what an operator checks after a deploy)."""
    prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", ""))
    parts = []
    if "Expiration" in rule:
        parts.append(f"objects expire after {rule['Expiration'].get('Days')} day(s)")
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"].get("DaysAfterInitiation")
        parts.append(f"unfinished multipart uploads are aborted after {days} day(s)")
    return f"under '{prefix}': " + (", ".join(parts) or "other actions") + f" ({rule.get('Status')})"

"""The object-storage seam: local files in embedded mode, S3 (django-storages) when S3_BUCKET is set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import environ


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None
    access_key_id: str | None
    secret_access_key: str | None
    region: str
    signed_url_seconds: int

    @classmethod
    def from_env(cls, env: environ.Env) -> S3Settings | None:
        bucket = env.str("S3_BUCKET", default="")
        if not bucket:
            return None
        return cls(
            bucket=bucket,
            endpoint_url=env.str("S3_ENDPOINT_URL", default="") or None,
            # None lets boto3 find credentials itself (instance role, AWS_* variables).
            access_key_id=env.str("S3_ACCESS_KEY_ID", default="") or None,
            secret_access_key=env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            region=env.str("S3_REGION", default="us-east-1"),
            signed_url_seconds=env.int("S3_SIGNED_URL_SECONDS", default=3600),
        )


def storages_config(*, s3: S3Settings | None, media_root: Path) -> dict[str, dict[str, Any]]:
    """The STORAGES setting. Every object is private; pages link to short-lived signed URLs."""
    staticfiles = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
    if s3 is None:
        default: dict[str, Any] = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            # Rendition keys are deterministic, so a rerun job overwrites with identical bytes.
            "OPTIONS": {"location": str(media_root), "allow_overwrite": True},
        }
    else:
        default = {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": s3.bucket,
                "endpoint_url": s3.endpoint_url,
                "access_key": s3.access_key_id,
                "secret_key": s3.secret_access_key,
                "region_name": s3.region,
                # Path-style works with every S3-compatible server (SeaweedFS, MinIO).
                "addressing_style": "path",
                "signature_version": "s3v4",
                "default_acl": None,  # the bucket's default: private
                "querystring_auth": True,
                "querystring_expire": s3.signed_url_seconds,
                # Keys are unique per upload; an overwrite would be a bug, so never rename silently.
                "file_overwrite": True,
            },
        }
    return {"default": default, "staticfiles": staticfiles}

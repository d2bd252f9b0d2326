"""The object-storage seam: local files in embedded mode, S3 (django-storages) when S3_BUCKET is set.

Keys say who may read them:

- `private/...`: originals, and renditions of private photos. Served only through
  short-lived signed URLs (S3) or a permission-checking view (embedded).
- `public/...`: renditions of public and unlisted photos, under unguessable,
  content-addressed keys. Readable without a signature (a bucket policy on the
  prefix, see `bucket_policy_apply`), cached forever by the CDN, and linked without
  signing, which also keeps pages cheap to render.

Two addresses of one bucket: the servers read, write, copy, list and delete through
S3_ENDPOINT_URL (in compose a container name), while every URL a browser follows (a
signed GET, the presigned upload POST, a public URL without a CDN) names
S3_PUBLIC_ENDPOINT_URL (in compose the site, whose nginx passes /photosite/ on). A
signature covers the host, so those URLs are signed for the public address by a
storage of their own (`signing`), which never does I/O.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import mimetypes
import re
import typing
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import environ
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core import signing
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, default_storage, storages

# Older Pythons' tables lack these; S3 uploads and local serving take types from here.
mimetypes.add_type("image/avif", ".avif")
mimetypes.add_type("image/webp", ".webp")
mimetypes.add_type("image/heic", ".heic")

logger = logging.getLogger(__name__)

PUBLIC_PREFIX = "public/"
PRIVATE_PREFIX = "private/"
AVATAR_PREFIX = f"{PUBLIC_PREFIX}avatars/"  # people's pictures: public, a new key for each
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None
    access_key_id: str | None
    secret_access_key: str | None
    region: str
    signed_url_seconds: int
    cdn_url: str | None
    # Where browsers reach the bucket, if not at endpoint_url (see the module's docstring).
    public_endpoint_url: str | None = None

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
            cdn_url=env.str("MEDIA_CDN_URL", default="").rstrip("/") or None,
            public_endpoint_url=env.str("S3_PUBLIC_ENDPOINT_URL", default="").rstrip("/") or None,
        )

    def browser_endpoint_url(self) -> str | None:
        """The endpoint URLs that browsers follow are built and signed for (None: AWS's)."""
        return self.public_endpoint_url or self.endpoint_url

    def public_base_url(self) -> str:
        """Where unsigned public objects are fetched: the CDN, else the bucket itself."""
        if self.cdn_url:
            return self.cdn_url
        endpoint = (self.browser_endpoint_url() or f"https://s3.{self.region}.amazonaws.com").rstrip("/")
        return f"{endpoint}/{self.bucket}"


def storages_config(*, s3: S3Settings | None, media_root: Path) -> dict[str, dict[str, Any]]:
    """The STORAGES setting: `default` stores private objects, `public` links its URLs
    unsigned, `signing` signs URLs for the browsers' address and stores nothing."""
    staticfiles = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
    if s3 is None:
        # Rendition keys are deterministic, so a rerun job overwrites with identical bytes.
        local = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media_root), "allow_overwrite": True},
        }
        signing = {**local, "BACKEND": "photosite.storage.SignedFileSystemStorage"}
        return {"default": local, "public": local, "signing": signing, "staticfiles": staticfiles}
    common = {
        "bucket_name": s3.bucket,
        "endpoint_url": s3.endpoint_url,
        "access_key": s3.access_key_id,
        "secret_key": s3.secret_access_key,
        "region_name": s3.region,
        # Path-style works with every S3-compatible server (SeaweedFS, MinIO).
        "addressing_style": "path",
        "signature_version": "s3v4",
        "default_acl": None,  # the bucket's default: private; the public prefix opens by policy
        # Keys are content-addressed, so an overwrite writes the same bytes.
        "file_overwrite": True,
        # Fail fast when S3 is unreachable: a page or probe should not hang for a minute.
        # 32 connections: a worker's job threads and objects_save's 8 share one client's pool
        # (django-storages keeps one per storage), botocore's default of 10 would drop some.
        "client_config": Config(
            connect_timeout=2,
            read_timeout=20,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=32,
        ),
    }
    base = s3.public_base_url()
    scheme, _, rest = base.partition("://")
    signed = {"querystring_auth": True, "querystring_expire": s3.signed_url_seconds}
    return {
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**common, **signed}},
        "signing": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**common, **signed, "endpoint_url": s3.browser_endpoint_url()},
        },
        "public": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **common,
                "querystring_auth": False,
                "custom_domain": rest,  # host[:port][/bucket]: URLs are built, not signed
                "url_protocol": f"{scheme}:",
                "object_parameters": {"CacheControl": IMMUTABLE},
            },
        },
        "staticfiles": staticfiles,
    }


# Embedded mode's signed URLs (/media/<key>?sig=...), which photos.views.local_media honours
# as S3 honours its own: whoever holds one may fetch that key until it expires, as a share
# link's recipient must, without an account.
LOCAL_SIGNATURE_SALT = "photosite.storage.local-media"
LOCAL_SIGNED_URL_SECONDS = 3600  # as S3_SIGNED_URL_SECONDS' default


class SignedFileSystemStorage(FileSystemStorage):
    """Local files whose URLs carry a signature of their key and the time, like S3's presigned URLs."""

    def url(self, name: str | None) -> str:
        if name is None:
            return super().url(name)
        signature = signing.TimestampSigner(salt=LOCAL_SIGNATURE_SALT).sign(name).removeprefix(f"{name}:")
        return f"{super().url(name)}?sig={signature}"


def local_signature_valid(name: str, signature: str) -> bool:
    """Whether `signature` (a SignedFileSystemStorage URL's `sig`) signs `name` and is still fresh."""
    try:
        signing.TimestampSigner(salt=LOCAL_SIGNATURE_SALT).unsign(
            f"{name}:{signature}", max_age=LOCAL_SIGNED_URL_SECONDS
        )
    except signing.BadSignature:  # SignatureExpired is one too
        return False
    return True


def public_storage() -> Storage:
    return storages["public"]


def signing_storage() -> Storage:
    """Signs URLs for the address browsers use (`signing` in STORAGES); no I/O goes through it."""
    return storages["signing"]


def storage_for_key(key: str) -> Storage:
    return public_storage() if key.startswith(PUBLIC_PREFIX) else default_storage


# Keys whose URL is the public base joined to the key as it is: every part a plain name (our
# keys are content-addressed: letters, digits, dashes, underscores and dots), so the backend's
# normalizing and quoting would change nothing (and no part is "." or "..", which it would).
_PLAIN_KEY_PART = r"(?!\.\.?(?:/|\Z))[A-Za-z0-9_.\-]+"
_PLAIN_KEY = re.compile(rf"{_PLAIN_KEY_PART}(?:/{_PLAIN_KEY_PART})*")


def _public_url_base(storage: Storage) -> str | None:
    """What the `public` storage's URLs start with, when its url() only joins a key to a base:
    django-storages with a custom domain and no signing (our S3 setting), or local files."""
    if isinstance(storage, FileSystemStorage):
        base_url = storage.base_url
        return base_url if base_url and base_url.endswith("/") else None
    domain = getattr(storage, "custom_domain", None)
    if domain and getattr(storage, "querystring_auth", True) is False and not getattr(storage, "location", ""):
        return f"{getattr(storage, 'url_protocol', 'https:')}//{domain}/"
    return None


def media_url(key: str) -> str:
    """The URL a page links to for a stored key: plain for public keys, signed otherwise.

    A public key's URL is a string join (a grid page links some 300 renditions: building
    each through django-storages' url() was a third of a cold card, docs/PERFORMANCE.md);
    anything else, and every private key, goes through the backend as before.
    """
    if key.startswith(PUBLIC_PREFIX):
        storage = public_storage()
        base = _public_url_base(storage)
        if base is not None and _PLAIN_KEY.fullmatch(key):
            return base + key
        return storage.url(key)
    return signing_storage().url(key)


def media_urls(keys: Iterable[str]) -> list[str]:
    """media_url of each key, with the public storage and its base looked up once: a grid
    page links some 300 renditions, and those lookups were a third of media_url's time."""
    base = _public_url_base(public_storage())
    if base is None:
        return [media_url(key) for key in keys]
    return [
        base + key if key.startswith(PUBLIC_PREFIX) and _PLAIN_KEY.fullmatch(key) else media_url(key) for key in keys
    ]


def object_save(key: str, data: bytes) -> str:
    return storage_for_key(key).save(key, ContentFile(data))


# Threads that only wait on the object store: a photo's ten renditions were ten PUTs one
# after another, part of every upload's time to ready. They share the storage's one boto3
# client (thread-safe), whose connection pool is sized for them (client_config above).
_SAVERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="object-save")


def objects_save(items: Sequence[tuple[str, bytes]]) -> list[str]:
    """`object_save` for each (key, data), sent at once; the names in the same order. If one
    fails, the error is raised after the others have finished (the keys are deterministic, so a
    retry overwrites whatever was stored)."""
    futures = [_SAVERS.submit(object_save, key, data) for key, data in items]
    wait(futures)
    return [future.result() for future in futures]


class _TypedFile(File):  # type: ignore[type-arg]  # generic in the stubs only: File[bytes] fails at run time
    """A file with the Content-Type to store it as, which django-storages' S3 backend reads."""

    def __init__(self, file: Any, name: str, content_type: str) -> None:
        super().__init__(file, name)
        self.content_type = content_type


def file_save(key: str, content: File[bytes], *, content_type: str) -> str:
    """Store a file (an upload, perhaps spooled to disk) under `key` as `content_type`.

    Never as the type its sender declared: django-storages' S3 backend takes a file's
    own `content_type` (an upload's is the client's) before the key's extension.
    Local files are served with the type their key's extension says.
    """
    return storage_for_key(key).save(key, _TypedFile(content.file, key, content_type))


def object_copy(source: str, destination: str, *, content_type: str | None = None) -> None:
    """Copy within the bucket (server-side on S3), with the destination's own headers.

    The copy keeps the source's Content-Type unless `content_type` is given (an upload's
    original gets the type of its decoded format, whatever it arrived with).
    """
    target = storage_for_key(destination)
    client = _s3_client(target)
    if client is None:
        with default_storage.open(source, "rb") as handle:
            target.save(destination, ContentFile(handle.read()))
        return
    bucket = _bucket_name(target)
    if content_type is None:
        content_type = client.head_object(Bucket=bucket, Key=source).get("ContentType", "application/octet-stream")
    client.copy_object(
        Bucket=bucket,
        Key=destination,
        CopySource={"Bucket": bucket, "Key": source},
        # REPLACE, so the copy gets the destination's Cache-Control, not the source's.
        MetadataDirective="REPLACE",
        ContentType=content_type,
        **(getattr(target, "object_parameters", None) or {}),
    )


class StorageUnavailable(Exception):
    """Object storage did not answer; nothing was recorded. Shown as a 503: try again later."""

    message = "Photo storage is unavailable right now. Nothing was saved; please try again in a few minutes."


@contextlib.contextmanager
def storage_errors_as_unavailable() -> Iterator[None]:
    """Turn any storage failure inside the block into StorageUnavailable, logged once."""
    try:
        yield
    except (BotoCoreError, ClientError, OSError) as error:
        logger.error("object storage failed: %s", error)
        raise StorageUnavailable(StorageUnavailable.message) from error


def presigned_upload(
    key: str, *, max_bytes: int, content_type: str = "application/octet-stream", expires_seconds: int = 900
) -> dict[str, Any] | None:
    """A presigned POST letting a browser upload one object of at most `max_bytes` to `key`,
    stored as `content_type`.

    S3 enforces the policy: the size, so the web tier never carries the bytes, and the
    Content-Type, so a form that sends a type of its own (text/html) is refused.
    None in embedded mode: the browser posts to Django instead. The POST's URL is the
    browsers' address of the bucket (S3_PUBLIC_ENDPOINT_URL), not the servers'.
    """
    signer = signing_storage()
    client = _s3_client(signer)
    if client is None:
        return None
    post = client.generate_presigned_post(
        Bucket=_bucket_name(signer),
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[["content-length-range", 1, max_bytes], {"Content-Type": content_type}],
        ExpiresIn=expires_seconds,
    )
    return {"url": post["url"], "fields": post["fields"]}


def object_delete(key: str) -> None:
    storage_for_key(key).delete(key)


def object_exists(key: str) -> bool:
    return storage_for_key(key).exists(key)


def object_list(prefix: str, *, page_size: int = 1000) -> Iterator[tuple[str, datetime]]:
    """Every stored key under `prefix`, with its last-modified time (UTC), in key order
    (S3's: by code point), a page at a time: memory holds one page, whatever the bucket's size."""
    client = _s3_client(default_storage)
    if client is not None:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=_bucket_name(default_storage),
            Prefix=prefix,
            PaginationConfig={"PageSize": page_size},
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"], item["LastModified"]
        return
    root = Path(default_storage.location)  # type: ignore[attr-defined]  # FileSystemStorage's: no S3 client
    base = root / prefix
    if not base.exists():
        return
    # Sorted as S3 sorts (whole keys, not path parts); embedded mode's folders are small.
    for key, path in sorted((path.relative_to(root).as_posix(), path) for path in base.rglob("*") if path.is_file()):
        yield key, datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _s3_client(storage: Storage) -> Any:
    connection = getattr(storage, "connection", None)
    return connection.meta.client if connection is not None else None


def _bucket_name(storage: Storage) -> str:
    """The bucket of an S3Storage, for callers that found an S3 client for it."""
    name: str = storage.bucket_name  # type: ignore[attr-defined]  # S3Storage's; Storage does not declare it
    return name


def bucket_policy_apply() -> bool:
    """Let anyone read `public/*` and nothing else. Returns False in embedded mode."""
    client = _s3_client(default_storage)
    if client is None:
        return False
    bucket = _bucket_name(default_storage)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRenditions",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/{PUBLIC_PREFIX}*"],
            }
        ],
    }
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return True


# Lifecycle rules storage_init owns, by ID; an operator's other rules are kept.
LIFECYCLE_ABANDONED_MULTIPART = "photosite-abort-incomplete-multipart"


def bucket_lifecycle_apply(*, expire: dict[str, int]) -> list[dict[str, Any]] | None:
    """Have S3 itself expire objects under each prefix of `expire` after that many days, and
    abort multipart uploads left unfinished for a day (a data export that died). Returns
    the bucket's rules as S3 stored them; None in embedded mode.

    Rules with other IDs (an operator's own) are kept: S3 replaces the whole configuration.
    """
    client = _s3_client(default_storage)
    if client is None:
        return None
    bucket = _bucket_name(default_storage)
    ours = {f"photosite-expire-{prefix.strip('/').replace('/', '-')}" for prefix in expire}
    ours.add(LIFECYCLE_ABANDONED_MULTIPART)
    try:
        existing = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchLifecycleConfiguration":
            raise
        existing = []
    rules = [rule for rule in existing if rule.get("ID") not in ours]
    rules += [
        {
            "ID": f"photosite-expire-{prefix.strip('/').replace('/', '-')}",
            "Filter": {"Prefix": prefix},
            "Status": "Enabled",
            "Expiration": {"Days": days},
        }
        for prefix, days in expire.items()
    ]
    rules.append(
        {
            "ID": LIFECYCLE_ABANDONED_MULTIPART,
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    )
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    stored: list[dict[str, Any]] = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return stored


# --- Streams: objects too big to hold in memory (data exports) ----------------------------

MULTIPART_PART_BYTES = 8 * 1024 * 1024  # S3 wants at least 5 MiB per part but the last


class _MultipartWriter(io.RawIOBase):
    """A write-only, unseekable file whose bytes go to S3 as a multipart upload, one part
    at a time: memory holds one part, whatever the object's size. zipfile writes to it
    with data descriptors, as to any unseekable stream."""

    def __init__(self, client: Any, bucket: str, key: str, headers: dict[str, str]) -> None:
        super().__init__()
        self.client, self.bucket, self.key = client, bucket, key
        self.upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **headers)["UploadId"]
        self.parts: list[dict[str, Any]] = []
        self.buffer = bytearray()
        self.position = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.buffer += view
        self.position += len(view)
        while len(self.buffer) >= MULTIPART_PART_BYTES:
            self._send(bytes(self.buffer[:MULTIPART_PART_BYTES]))
            del self.buffer[:MULTIPART_PART_BYTES]
        return len(view)

    def _send(self, part: bytes) -> None:
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=part
        )
        self.parts.append({"ETag": answer["ETag"], "PartNumber": number})

    def complete(self) -> None:
        if self.buffer or not self.parts:
            self._send(bytes(self.buffer))
            self.buffer.clear()
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

    def abort(self) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


@contextlib.contextmanager
def object_writer(key: str, *, content_type: str, download_name: str = "") -> Iterator[IO[bytes]]:
    """A binary stream that becomes the (private) object `key` when the block ends without error.

    On S3 a multipart upload (memory: one 8 MiB part); locally a file written in place.
    An error inside the block leaves no object behind. With `download_name`, browsers
    save the object under that name (Content-Disposition), from a plain signed URL.
    """
    client = _s3_client(default_storage)
    if client is None:
        path = Path(default_storage.path(key))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("wb") as handle:
                yield handle
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return
    headers = {"ContentType": content_type}
    if download_name:
        headers["ContentDisposition"] = f'attachment; filename="{download_name}"'
    writer = _MultipartWriter(client, _bucket_name(default_storage), key, headers)
    try:
        yield typing.cast(IO[bytes], writer)
    except BaseException:
        writer.abort()
        raise
    writer.complete()


@contextlib.contextmanager
def object_reader(key: str) -> Iterator[IO[bytes]]:
    """A binary stream of a stored object, read as it arrives (never whole into memory)."""
    storage = storage_for_key(key)
    client = _s3_client(storage)
    if client is None:
        with storage.open(key, "rb") as handle:
            yield typing.cast(IO[bytes], handle)
        return
    body = client.get_object(Bucket=_bucket_name(storage), Key=key)["Body"]
    try:
        yield typing.cast(IO[bytes], body)
    finally:
        body.close()


def download_url(key: str, *, expires_seconds: int = 300) -> str | None:
    """A short-lived signed URL of a private object; None locally, where the caller streams
    the file itself."""
    if _s3_client(default_storage) is None:
        return None
    url: str = default_storage.url(key, expire=expires_seconds)  # type: ignore[call-arg]  # S3Storage's own argument
    return url

"""Purging the caches in front: public media after a takedown, visitors' pages after a change.

Public renditions are served with `Cache-Control: immutable` for a year, so the copies a
CDN or nginx holds outlive the object: once a photo is hidden, made private or deleted,
its old public URLs must also leave those caches. `MEDIA_PURGE_BACKEND` chooses who is
asked, each through its documented purge API:

- `none` (the default): nothing in front caches media (embedded mode, a bare bucket);
- `nginx`: the site's own nginx (`make stack`, compose): a GET of the URL from inside the
  network with `X-Cache-Purge: 1` makes nginx fetch it again and replace its cached copy
  with the bucket's 403/404 (stock nginx: no purge module; compose/production/nginx);
- `cloudfront`: CreateInvalidation on MEDIA_PURGE_CLOUDFRONT_DISTRIBUTION_ID;
- `fastly`: a URL purge (`POST /purge/<host/path>` with the API token);
- `cloudflare`: `POST /zones/<zone>/purge_cache` with the URLs, 30 per call.

A failure raises PurgeFailed, so the job that asked is retried with backoff. Browsers
that fetched a URL before the takedown keep their own copy: no server can reach those.

Pages kept for visitors (photosite/pagecache.py) are purged by `page_purge`, right after a
write that takes something away from visitors bumps the versions they were built from
(`versions_bump(..., edge=True)` in photosite/cache.py; additions such as uploads and likes
reach the edge within its `s-maxage` instead), through the same backend:

- `nginx`: stock nginx cannot purge by key, so it keys every visitor's page by the site's
  edge generation as well (`EDGE_GENERATION_PATH`, fetched by `auth_request` and kept one
  second), and each such change bumps the generation: a GET of that path with
  X-Cache-Purge makes nginx take the new one at once, and every page is then looked up
  under a key nothing was stored under before the change. If that GET fails, nginx takes
  the new generation when its copy expires (under two seconds, as before any purge);
- `fastly`: a purge by surrogate key (`POST /service/<id>/purge`, `Surrogate-Key`), when
  MEDIA_PURGE_FASTLY_SERVICE_ID is set; `cloudflare`: a purge by `tags` (`Cache-Tag`);
- `cloudfront`: no purge by key, and an invalidation takes longer than the page's own
  second at the edge: pages are left to expire.

Only nginx is sent `stale-while-revalidate` (pagecache.py): its safety does not depend on
the purge call arriving. A page purge never raises: the write it follows is committed.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import environ
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from photosite.storage import PUBLIC_PREFIX, public_storage

logger = logging.getLogger(__name__)

BACKENDS = ("none", "nginx", "cloudfront", "fastly", "cloudflare")
CLOUDFLARE_URLS_PER_CALL = 30  # the purge-by-URL limit of Cloudflare's plans below Enterprise
CLOUDFRONT_PATHS_PER_CALL = 1000
PURGE_HEADER = "X-Cache-Purge"
EDGE_GENERATION_PATH = "/-/edge-generation"  # nginx's key for visitors' pages (compose/production/nginx)
EDGE_GENERATION_HEADER = "X-Edge-Generation"
PAGE_PURGE_TIMEOUT_SECONDS = 2.0  # a page purge runs in the request that wrote: it must not hold it long
FASTLY_KEYS_PER_CALL = 256  # Fastly's limit for a purge by several surrogate keys
CLOUDFLARE_TAGS_PER_CALL = 30


class PurgeFailed(Exception):
    """A cache did not confirm the purge; the job retries."""


@dataclass(frozen=True)
class PurgeSettings:
    backend: str = "none"
    nginx_urls: tuple[str, ...] = ()  # every nginx in front of the bucket, e.g. http://nginx
    cloudfront_distribution_id: str = ""
    api_token: str = ""  # Fastly's or Cloudflare's API token
    cloudflare_zone_id: str = ""
    fastly_service_id: str = ""  # only for purging pages by surrogate key; media are purged by URL
    api_url: str = ""  # the CDN API's base URL, when not its public one (a proxy, a test's fake)
    timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: environ.Env) -> PurgeSettings:
        """Read MEDIA_PURGE_*; a backend chosen without what it needs stops the start."""
        backend = env.str("MEDIA_PURGE_BACKEND", default="none").strip().lower() or "none"
        if backend not in BACKENDS:
            raise ImproperlyConfigured(f"MEDIA_PURGE_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
        token = env.str("MEDIA_PURGE_API_TOKEN", default="")
        if not token and "MEDIA_PURGE_API_TOKEN_FILE" in env:
            token = Path(env.str("MEDIA_PURGE_API_TOKEN_FILE")).read_text().strip()
        found = cls(
            backend=backend,
            nginx_urls=tuple(url.rstrip("/") for url in env.list("MEDIA_PURGE_NGINX_URLS", default=[]) if url),
            cloudfront_distribution_id=env.str("MEDIA_PURGE_CLOUDFRONT_DISTRIBUTION_ID", default=""),
            api_token=token,
            cloudflare_zone_id=env.str("MEDIA_PURGE_CLOUDFLARE_ZONE_ID", default=""),
            fastly_service_id=env.str("MEDIA_PURGE_FASTLY_SERVICE_ID", default=""),
            api_url=env.str("MEDIA_PURGE_API_URL", default="").rstrip("/"),
            timeout_seconds=env.float("MEDIA_PURGE_TIMEOUT_SECONDS", default=10.0),
        )
        needs = {
            "nginx": {"MEDIA_PURGE_NGINX_URLS": bool(found.nginx_urls)},
            "cloudfront": {"MEDIA_PURGE_CLOUDFRONT_DISTRIBUTION_ID": bool(found.cloudfront_distribution_id)},
            "fastly": {"MEDIA_PURGE_API_TOKEN": bool(token)},
            "cloudflare": {
                "MEDIA_PURGE_API_TOKEN": bool(token),
                "MEDIA_PURGE_CLOUDFLARE_ZONE_ID": bool(found.cloudflare_zone_id),
            },
        }.get(backend, {})
        missing = [name for name, present in needs.items() if not present]
        if missing:
            raise ImproperlyConfigured(f"MEDIA_PURGE_BACKEND={backend} needs {' and '.join(missing)}")
        return found


class PurgeBackend(Protocol):
    def purge(self, urls: list[str]) -> None: ...

    def purge_pages(self, keys: list[str]) -> None:
        """Drop visitors' pages built from these surrogate keys (the scopes just bumped)."""
        ...


def media_purge(*, keys: list[str]) -> int:
    """Purge the cached copies of these objects' public URLs; returns how many URLs were purged.

    Private keys are skipped: their URLs are signed and never cached in front. Call after
    the objects are gone, or the caches fetch them again.
    """
    urls = [public_storage().url(key) for key in keys if key.startswith(PUBLIC_PREFIX)]
    if not urls:
        return 0
    backend = purge_backend(settings.MEDIA_PURGE)
    backend.purge(urls)
    logger.info(
        "purged %d public URL(s) from the media cache (%s)",
        len(urls),
        settings.MEDIA_PURGE.backend,
        extra={"event.action": "media-purged"},
    )
    return len(urls)


def page_purge(*, keys: Iterable[str]) -> None:
    """After an invalidation (photosite/cache.py, once its bump is in Redis): ask the caches in
    front to drop the visitors' pages built from these scopes. A failure is logged, not raised:
    the write is committed, and every edge keeps a page for about a second at most anyway."""
    config: PurgeSettings = settings.MEDIA_PURGE
    if config.backend == "none":
        return
    wanted = sorted(set(keys))
    try:
        purge_backend(config).purge_pages(wanted)
    except PurgeFailed as error:
        logger.warning(
            "visitors' pages were not purged from the edge (%s): %s; they expire there within two seconds",
            config.backend,
            error,
            extra={"event.action": "page-purge-failed"},
        )


def purge_backend(config: PurgeSettings) -> PurgeBackend:
    if config.backend == "nginx":
        return NginxPurge(config)
    if config.backend == "cloudfront":
        return CloudFrontPurge(config)
    if config.backend == "fastly":
        return FastlyPurge(config)
    if config.backend == "cloudflare":
        return CloudflarePurge(config)
    return NoPurge()


class NoPurge:
    def purge(self, urls: list[str]) -> None:
        return None

    def purge_pages(self, keys: list[str]) -> None:
        return None


def _request(method: str, url: str, *, timeout: float, headers: dict[str, str], body: bytes | None = None) -> int:
    """One HTTP call; its status, whatever it is (the caller judges). Raises PurgeFailed
    only when there was no answer."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 (http(s) from settings)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (as above)
            status: int = response.status
            response.read()
            return status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code
    except (OSError, ValueError) as error:
        raise PurgeFailed(f"{method} {url}: {error}") from error


def _json_call(method: str, url: str, *, timeout: float, headers: dict[str, str], payload: Any = None) -> Any:
    """A JSON API call that must answer 2xx; returns its decoded body."""
    body = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(  # noqa: S310 (https from settings)
        url,
        data=body,
        method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (as above)
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise PurgeFailed(f"{method} {url}: {error.code} {error.read()[:300]!r}") from error
    except (OSError, ValueError) as error:
        raise PurgeFailed(f"{method} {url}: {error}") from error


class NginxPurge:
    """Refresh each URL in every nginx: with X-Cache-Purge from an address nginx trusts,
    nginx bypasses its cache, fetches the object again and stores what the bucket answers
    now (a 403/404, kept a few seconds) over the old copy."""

    def __init__(self, config: PurgeSettings) -> None:
        self.config = config

    def purge(self, urls: list[str]) -> None:
        for url in urls:
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            for base in self.config.nginx_urls:
                status = _request("GET", base + path, timeout=self.config.timeout_seconds, headers={PURGE_HEADER: "1"})
                if status >= 500:
                    raise PurgeFailed(f"nginx at {base} answered {status} refreshing {path}")

    def purge_pages(self, keys: list[str]) -> None:
        """Every nginx fetches the site's edge generation again (the bump already moved it), so
        from the next request on no page kept before the change is looked up any more."""
        timeout = min(self.config.timeout_seconds, PAGE_PURGE_TIMEOUT_SECONDS)
        failures = []
        for base in self.config.nginx_urls:
            try:
                status = _request("GET", base + EDGE_GENERATION_PATH, timeout=timeout, headers={PURGE_HEADER: "1"})
            except PurgeFailed as error:
                failures.append(str(error))
                continue
            if status != 200:
                failures.append(f"nginx at {base} answered {status} refreshing the edge generation")
        if failures:
            raise PurgeFailed("; ".join(failures))


class CloudFrontPurge:
    """CloudFront's CreateInvalidation, with the S3 credentials when set (else boto3's chain)."""

    def __init__(self, config: PurgeSettings) -> None:
        self.config = config

    def purge(self, urls: list[str]) -> None:
        import boto3  # only deployments on CloudFront load its client
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        s3 = settings.S3_SETTINGS
        client = boto3.client(
            "cloudfront",
            endpoint_url=self.config.api_url or None,
            aws_access_key_id=s3.access_key_id if s3 else None,
            aws_secret_access_key=s3.secret_access_key if s3 else None,
            region_name="us-east-1",
            config=Config(
                connect_timeout=self.config.timeout_seconds,
                read_timeout=self.config.timeout_seconds,
                retries={"max_attempts": 2},
            ),
        )
        paths = sorted({urlsplit(url).path for url in urls})
        for start in range(0, len(paths), CLOUDFRONT_PATHS_PER_CALL):
            batch = paths[start : start + CLOUDFRONT_PATHS_PER_CALL]
            try:
                client.create_invalidation(
                    DistributionId=self.config.cloudfront_distribution_id,
                    InvalidationBatch={
                        "Paths": {"Quantity": len(batch), "Items": batch},
                        "CallerReference": uuid.uuid4().hex,  # a retry is a new invalidation, which is harmless
                    },
                )
            except (BotoCoreError, ClientError) as error:
                raise PurgeFailed(f"CloudFront invalidation: {error}") from error

    def purge_pages(self, keys: list[str]) -> None:
        """CloudFront has no purge by key, and an invalidation takes longer than the page's own
        second there: pages are left to expire (and are never sent stale-while-revalidate)."""
        return None


class FastlyPurge:
    """Fastly's single-URL purge: POST /purge/<host and path>, a hard purge."""

    def __init__(self, config: PurgeSettings) -> None:
        self.config = config

    def purge(self, urls: list[str]) -> None:
        base = self.config.api_url or "https://api.fastly.com"
        for url in urls:
            parts = urlsplit(url)
            _json_call(
                "POST",
                f"{base}/purge/{parts.netloc}{parts.path}",
                timeout=self.config.timeout_seconds,
                headers={"Fastly-Key": self.config.api_token},
            )

    def purge_pages(self, keys: list[str]) -> None:
        """Fastly's purge by surrogate key (`Surrogate-Key`, as pages carry it), when the service is known."""
        if not (keys and self.config.fastly_service_id):
            return
        base = self.config.api_url or "https://api.fastly.com"
        for start in range(0, len(keys), FASTLY_KEYS_PER_CALL):
            _json_call(
                "POST",
                f"{base}/service/{self.config.fastly_service_id}/purge",
                timeout=min(self.config.timeout_seconds, PAGE_PURGE_TIMEOUT_SECONDS),
                headers={
                    "Fastly-Key": self.config.api_token,
                    "Surrogate-Key": " ".join(keys[start : start + FASTLY_KEYS_PER_CALL]),
                },
            )


class CloudflarePurge:
    """Cloudflare's purge by URL (`files`), at most 30 URLs per call."""

    def __init__(self, config: PurgeSettings) -> None:
        self.config = config

    def purge(self, urls: list[str]) -> None:
        base = self.config.api_url or "https://api.cloudflare.com/client/v4"
        for start in range(0, len(urls), CLOUDFLARE_URLS_PER_CALL):
            answer = _json_call(
                "POST",
                f"{base}/zones/{self.config.cloudflare_zone_id}/purge_cache",
                timeout=self.config.timeout_seconds,
                headers={"Authorization": f"Bearer {self.config.api_token}"},
                payload={"files": urls[start : start + CLOUDFLARE_URLS_PER_CALL]},
            )
            if not (isinstance(answer, dict) and answer.get("success")):
                raise PurgeFailed(f"Cloudflare refused the purge: {answer!r:.300}")

    def purge_pages(self, keys: list[str]) -> None:
        """Cloudflare's purge by cache tag (`Cache-Tag`, as pages carry it), 30 tags per call."""
        base = self.config.api_url or "https://api.cloudflare.com/client/v4"
        for start in range(0, len(keys), CLOUDFLARE_TAGS_PER_CALL):
            answer = _json_call(
                "POST",
                f"{base}/zones/{self.config.cloudflare_zone_id}/purge_cache",
                timeout=min(self.config.timeout_seconds, PAGE_PURGE_TIMEOUT_SECONDS),
                headers={"Authorization": f"Bearer {self.config.api_token}"},
                payload={"tags": keys[start : start + CLOUDFLARE_TAGS_PER_CALL]},
            )
            if not (isinstance(answer, dict) and answer.get("success")):
                raise PurgeFailed(f"Cloudflare refused the page purge: {answer!r:.300}")

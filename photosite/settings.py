"""Settings for every run mode, read from the environment only (12-factor).

No variable set means embedded mode: SQLite, local files, local-memory cache and
an in-process Dramatiq worker, so a fresh clone runs with `make run`. Each
service is switched on by its own variable; the README has the full table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import csp.constants as csp
import environ
from django.core.exceptions import ImproperlyConfigured

from photosite import broker, purge, requestlog, storage

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

VAR_DIR = Path(env.str("PHOTOSITE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

EMBEDDED = "DATABASE_URL" not in env  # no database server configured: a laptop/demo run

DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _secret_key() -> str:
    if "DJANGO_SECRET_KEY" in env:
        return env.str("DJANGO_SECRET_KEY")
    if "DJANGO_SECRET_KEY_FILE" in env:
        return Path(env.str("DJANGO_SECRET_KEY_FILE")).read_text().strip()
    if not EMBEDDED:
        # A server deployment that forgot its secret must not start with a guessable one.
        raise ImproperlyConfigured("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set when DATABASE_URL is set")
    from django.core.management.utils import get_random_secret_key

    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False) else None
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
# HTTPS only, once TLS is in front (compose/production, compose/kubernetes): plain HTTP is
# redirected, and HSTS makes browsers skip the plain request next time. The probes and
# the metrics scrape come from inside the network over plain HTTP, so they are exempt.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Before django_dramatiq: photosite's rundramatiq replaces its command, so that under
    # LOG_FORMAT=json the worker's main process logs JSON lines too (photosite.requestlog).
    "photosite",
    "django_dramatiq",
    "dramatiq_crontab",  # `manage.py crontab`: the periodic jobs (photosite/scheduler.py)
    "django_prometheus",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "apps.accounts",  # before allauth: its templates and adapter override allauth's
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "apps.photos",
    "apps.social",
    "apps.albums",
    "apps.sharing",
    "apps.notifications",
    "apps.moderation",
    "apps.ops",
    "apps.api",
]

MIDDLEWARE = [
    # Visitors' kept pages, first: a hit runs nothing below (it carries the headers the stack
    # set when it was stored, and logs and counts itself); a miss records what the page reads.
    "photosite.pagecache.PageCacheMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "photosite.errors.RejectMalformedRequests",
    "photosite.requestlog.RequestIdMiddleware",
    "photosite.db.ReadYourWritesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "photosite.csp.CSPMiddleware",  # django-csp's, its header built once: CONTENT_SECURITY_POLICY below
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # LANGUAGES below; after sessions, before common
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "apps.accounts.middleware.AuthenticationMiddleware",  # Django's, the user row read without the ORM's query building
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "apps.accounts.middleware.StaffSecondFactorMiddleware",  # STAFF_MFA_REQUIRED below; after messages
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "photosite.metrics.PrometheusAfterMiddleware",  # django-prometheus's, its labelled metrics looked up once
    "photosite.db.ReplicaFailoverMiddleware",  # last: its retry re-runs only the view
]

ROOT_URLCONF = "photosite.urls"
WSGI_APPLICATION = "photosite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",  # the admin's check asks for it by name
                "apps.accounts.context_processors.auth",  # after it: the same user itself, not a lazy stand-in
                "django.contrib.messages.context_processors.messages",
                "apps.photos.context_processors.upload_limits",
            ],
            # `{% extends %}` finding the root template's blocks once, not on every render
            "builtins": ["photosite.template_extends"],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'photosite.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the in-process worker write while requests read; IMMEDIATE avoids
        # the "database is locked" upgrade deadlock between two writers.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

# Read replicas: replica_0, replica_1, ... in DATABASE_REPLICA_URLS order.
DATABASE_REPLICAS: list[str] = []
for _index, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[])):
    DATABASES[f"replica_{_index}"] = {**env.db_url_config(_url), "TEST": {"MIRROR": "default"}}
    DATABASE_REPLICAS.append(f"replica_{_index}")
DATABASE_ROUTERS = ["photosite.db.PrimaryReplicaRouter"]
# Read from the primary only: who a request is (its session, its API token) must not be
# decided by a replica that has not replayed a new session or token yet.
DATABASE_PRIMARY_ONLY_MODELS = ["sessions.Session", "accounts.ApiToken", "authtoken.Token", "authtoken.TokenProxy"]
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=5.0)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=3.0)
DATABASE_REPLICA_CONNECT_TIMEOUT = env.float("DATABASE_REPLICA_CONNECT_TIMEOUT", default=1.0)
# Longer than the largest lag a replica in rotation can have, so a writer never reads stale rows.
DATABASE_PIN_SECONDS = env.int(
    "DATABASE_PIN_SECONDS", default=int(DATABASE_REPLICA_MAX_LAG_SECONDS + DATABASE_REPLICA_CHECK_SECONDS) + 2
)
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=0)
# A web request's statement is cancelled after this long, on every alias: a page must not
# hold a connection (and its locks) for minutes, nor pile up behind a lock. Jobs, management
# commands (migrations) and the shell get the longer one on their connections (photosite.db).
# 0 turns either off.
DATABASE_STATEMENT_TIMEOUT_MS = env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=10_000)
DATABASE_JOB_STATEMENT_TIMEOUT_MS = env.int("DATABASE_JOB_STATEMENT_TIMEOUT_MS", default=600_000)

for _alias, _database in DATABASES.items():
    if _database["ENGINE"] != "django.db.backends.postgresql":
        continue
    _options = _database.setdefault("OPTIONS", {})
    _options.setdefault("connect_timeout", 3 if _alias == "default" else int(DATABASE_REPLICA_CONNECT_TIMEOUT) or 1)
    # Sent when connecting, so it costs no round trip. PgBouncer drops it
    # (ignore_startup_parameters): behind it, set statement_timeout on the database role.
    _options["options"] = f"{_options.get('options', '')} -c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS}".strip()
    # Behind PgBouncer in transaction mode (compose/kubernetes) a server-side cursor would
    # outlive the transaction that made it on a pooled connection: iterate client-side.
    _database["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False)
    # Shown in pg_stat_activity, so operators can tell web, worker and job connections apart.
    _options.setdefault("application_name", env.str("DATABASE_APPLICATION_NAME", default="photosite"))
    if DATABASE_POOL_MAX_SIZE:
        # psycopg's pool, one per process and alias (Django adds the health check on
        # checkout itself); see docs/SCALING.md for sizing.
        _options["pool"] = {
            "min_size": 1,
            "max_size": DATABASE_POOL_MAX_SIZE,
            # Seconds a request waits for a free connection before erroring. A replica's
            # pool gives up sooner: that read is then served by the primary
            # (ReplicaFailoverMiddleware) instead of waiting on a replica that died.
            "timeout": 10 if _alias == "default" else 0.5,
        }
        _database["CONN_MAX_AGE"] = 0  # the pool, not Django, keeps connections
    else:
        _database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        _database["CONN_HEALTH_CHECKS"] = True

# django-prometheus's engines: the same backends, with query and error counts.
for _database in DATABASES.values():
    _database["ENGINE"] = {
        "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
        "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
    }.get(_database["ENGINE"], _database["ENGINE"])

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Cache and sessions -----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",  # django-redis, counted
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="photosite"),
            "OPTIONS": {
                # An outage must cost milliseconds, not seconds, and never a 500.
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # cached_db: the database stays the source of truth, so a Redis flush logs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
if not env.bool("CACHE_ENABLED", default=True):
    # Every read goes to the database: for measuring the cache's worth, or ruling it out.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Whole pages for anonymous visitors (photosite/pagecache.py), with a shared cache only; off:
# every page is rendered (from the cached fragments), to measure or rule the page cache out.
PAGE_CACHE_ENABLED = env.bool("PAGE_CACHE_ENABLED", default=True)
# How long a web process may answer a kept page from memory once Redis said it may, while no
# invalidation message came (photosite/pagecache.py, `_Watch`): the bound on a change reaching a
# process whose message was lost. 0: every hit asks Redis.
PAGE_CACHE_VERDICT_SECONDS = env.float("PAGE_CACHE_VERDICT_SECONDS", default=1.0)

# --- Files ----------------------------------------------------------------------
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
# Hashed names (collectstatic) and far-future headers: WhiteNoise serves them, or a CDN
# pulling from this site (or a bucket the files are synced to) at STATIC_CDN_URL.
STATIC_URL = env.str("STATIC_CDN_URL", default="").rstrip("/") + "/static/" if "STATIC_CDN_URL" in env else "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
S3_SETTINGS = storage.S3Settings.from_env(env)  # also reads MEDIA_CDN_URL
# Where browsers reach the bucket, when that differs from S3_ENDPOINT_URL (the address the
# servers use, e.g. a container name): signed URLs and presigned upload POSTs must be
# signed for this address, and the Content-Security-Policy allows it.
S3_PUBLIC_ENDPOINT_URL = env.str("S3_PUBLIC_ENDPOINT_URL", default="").rstrip("/") or None
STORAGES = storage.storages_config(s3=S3_SETTINGS, media_root=MEDIA_ROOT)
# Local media is served by Django itself only in embedded mode; S3 serves its own URLs.
SERVE_LOCAL_MEDIA = S3_SETTINGS is None
# Who is asked to drop a taken-down photo's public URLs: none, nginx, cloudfront, fastly,
# cloudflare (photosite/purge.py; docs/OPERATIONS.md, "A takedown").
MEDIA_PURGE = purge.PurgeSettings.from_env(env)


# --- Content-Security-Policy (django-csp) ---------------------------------------------
# Scripts and styles only from our own files: an injected <script> or event handler never
# runs. The exceptions: style attributes (style-src-attr), which the grids use for each
# photo's placeholder colour, and inline code carrying this response's nonce (only the API
# docs page has some: templates/drf_spectacular/swagger_ui.html). Images and uploads also go
# to wherever the media lives (S3, its public address, the CDN); previews of files picked
# for upload are blob: URLs.
def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _media_origins(s3: storage.S3Settings | None) -> list[str]:
    if s3 is None:
        return []
    aws = [f"https://s3.{s3.region}.amazonaws.com"] + (["https://s3.amazonaws.com"] if s3.region == "us-east-1" else [])
    urls = [s3.public_base_url(), S3_PUBLIC_ENDPOINT_URL, *([s3.endpoint_url] if s3.endpoint_url else aws)]
    return sorted({origin for origin in map(_origin, urls) if origin})


_MEDIA_ORIGINS = _media_origins(S3_SETTINGS)
_STATIC_ORIGINS = [origin for origin in [_origin(STATIC_URL)] if origin]  # STATIC_CDN_URL
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE, *_STATIC_ORIGINS],
        "style-src": [csp.SELF, csp.NONCE, *_STATIC_ORIGINS],
        "style-src-attr": [csp.UNSAFE_INLINE],
        "img-src": [csp.SELF, "data:", "blob:", *_STATIC_ORIGINS, *_MEDIA_ORIGINS],
        "font-src": [csp.SELF, *_STATIC_ORIGINS],
        "connect-src": [csp.SELF, *_MEDIA_ORIGINS],  # presigned uploads straight to the bucket
        "form-action": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}

# --- Photos ---------------------------------------------------------------------
PHOTO_MAX_UPLOAD_BYTES = env.int("PHOTO_MAX_UPLOAD_BYTES", default=30 * 1024 * 1024)
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=50_000_000)
# The largest image a web process decodes whole to check an upload (16 MP: at most 64 MB
# as RGBA, per request). JPEGs are checked at 1/8 scale whatever their size; larger PNGs
# by their checksums; larger WebP, HEIF, AVIF and GIF files are decoded by the worker.
PHOTO_WEB_DECODE_MAX_PIXELS = env.int("PHOTO_WEB_DECODE_MAX_PIXELS", default=16_000_000)
# Photos per grid page (each next page is fetched by cursor, never OFFSET).
PHOTOS_PAGE_SIZE = env.int("PHOTOS_PAGE_SIZE", default=48)
# Uploaded files above this size spool to a temp file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Background jobs --------------------------------------------------------------
BROKER_URL = env.str("BROKER_URL", default="")
DRAMATIQ_BROKER = broker.dramatiq_broker_config(
    BROKER_URL,
    # With photosite.broker.RedisRedelivery a live worker beats every second: 5 s silent is dead.
    heartbeat_timeout_ms=env.int("BROKER_HEARTBEAT_TIMEOUT_MS", default=5_000),
    maintenance_chance=env.int("BROKER_MAINTENANCE_CHANCE", default=1000),
    connect_timeout=env.float("BROKER_CONNECT_TIMEOUT", default=2.0),
    socket_timeout=env.float("BROKER_SOCKET_TIMEOUT", default=5.0),
)
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]
# The periodic-job schedulers' lock (photosite/scheduler.py): one of several sends each tick.
DRAMATIQ_CRONTAB = {
    "REDIS_URL": broker.scheduler_lock_url(broker_url=BROKER_URL, redis_url=env.str("REDIS_URL", default="")),
    "LOCK_TIMEOUT": 10,  # seconds a dead scheduler keeps the others waiting
    "LOCK_REFRESH_INTERVAL": 5,
    "LOCK_BLOCKING_TIMEOUT": 15,  # a waiting scheduler gives up after this; start-scheduler retries
}
# A photo still processing this long after its last change lost its job (a broker flushed,
# a message removed by hand): the reaper, every minute, queues it again.
PHOTOS_STUCK_AFTER_SECONDS = env.int("PHOTOS_STUCK_AFTER_SECONDS", default=600)
# How long a re-render's superseded rendition files stay after the new ones are recorded, for
# pages that still link them; then the hourly `sweep_superseded_files` removes them. A day is
# far beyond every copy of a page the site keeps or lets others keep: kept pages 15 s
# (pagecache.PAGE_TTL + PAGE_GRACE), the edge 6 s (s-maxage=1, stale-while-revalidate=5),
# grids and photo cards 5 min (caching.py), browsers' private copies 5 min, signed URLs an
# hour (S3_SIGNED_URL_SECONDS). What it is for is a tab left open overnight. Keep it well
# above a renditions job's 5-minute limit: a job storing a key again (a pipeline version
# rolled back mid-deploy) is safe from the sweep because nothing falls due that soon.
PHOTOS_SUPERSEDED_GRACE_SECONDS = env.int("PHOTOS_SUPERSEDED_GRACE_SECONDS", default=24 * 60 * 60)
if PHOTOS_SUPERSEDED_GRACE_SECONDS < 30 * 60:
    raise ImproperlyConfigured("PHOTOS_SUPERSEDED_GRACE_SECONDS must be at least 1800 (30 minutes; see settings.py)")

# --- Probes -----------------------------------------------------------------------
READYZ_REQUIRED = env.list("READYZ_REQUIRED", default=["database"])
READYZ_CACHE_SECONDS = env.float("READYZ_CACHE_SECONDS", default=1.0)

METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# A Prometheus scraping the hosts' node exporters (job `node`), e.g. http://prometheus:9090:
# /ops/ then shows each host's CPU, memory, disk and load. Unset: the panel says how.
PROMETHEUS_URL = env.str("PROMETHEUS_URL", default="").rstrip("/")

# --- Auth -----------------------------------------------------------------------
# The test suite only: hashes test passwords in microseconds instead of PBKDF2's
# quarter second; PBKDF2 stays listed, so real hashes still verify.
if env.bool("TESTS_FAST_PASSWORD_HASHER", default=False):
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # the API's token request and the test client
    "allauth.account.auth_backends.AuthenticationBackend",  # the login form: user name or email
]

# Accounts (django-allauth): sign-up, email verification, password reset and change, email
# change, and the second factor (allauth.mfa: TOTP with recovery codes). Pages are ours:
# templates/allauth/ restyles its elements, templates/account/ and templates/mfa/ its pages.
ACCOUNT_ADAPTER = "apps.accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"signup": "apps.accounts.forms.SignupForm"}  # with the display name
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# "optional": a new person is in at once and is sent a link to confirm the address;
# "mandatory": no login until it is confirmed. Either way a changed address only takes
# over once its link is followed (ACCOUNT_CHANGE_EMAIL), and resets go to it alone.
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # a mail scanner fetching the link must not confirm it
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[photosite] "
ACCOUNT_EMAIL_NOTIFICATIONS = True  # "your password / email / two-factor changed": news of a takeover
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # the changing session stays; every other one ends
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False  # a link in the mail, followed once
ACCOUNT_PREVENT_ENUMERATION = True  # a reset for an unknown address looks like any other
# Login throttling for every login form (the admin's sends people to ours): failed attempts
# count in the default cache, Redis when REDIS_URL is set, so every web process shares them.
ACCOUNT_RATE_LIMITS = {
    # per client address, and per login name however many addresses try it
    "login_failed": env.str("LOGIN_FAILED_LIMIT", default="10/m/ip,5/300s/key"),
    "login": env.str("LOGIN_LIMIT", default="30/m/ip"),
}
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("NUM_PROXIES", default=0)  # as the API's throttles count clients
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="photosite")
# Staff reach /admin/ and /ops/ only after a second factor in this session
# (apps.accounts.middleware). Only embedded mode, a laptop, may turn that off.
STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=True)
if not STAFF_MFA_REQUIRED and not EMBEDDED:
    raise ImproperlyConfigured("STAFF_MFA_REQUIRED=false is for embedded mode only (DATABASE_URL unset)")
# A deleted account's user name cannot be taken by someone else for this long.
USERNAME_COOLING_OFF_DAYS = env.int("USERNAME_COOLING_OFF_DAYS", default=90)
# API tokens: the longest lifetime a person may choose, and what POST /api/v1/auth/token/ gives.
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
# Data export: how long the signed download link (and the stored zip) lasts.
EXPORT_LINK_HOURS = env.int("EXPORT_LINK_HOURS", default=72)

# --- Mail -----------------------------------------------------------------------------
# SMTP once EMAIL_HOST is set; until then mail goes to the log (photosite.mail): whole in
# embedded mode, which is how `make run` shows the links; recipients and subject alone otherwise.
EMAIL_HOST = env.str("EMAIL_HOST", default="")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env.int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = (
        Path(env.str("EMAIL_HOST_PASSWORD_FILE")).read_text().strip()
        if "EMAIL_HOST_PASSWORD_FILE" in env
        else env.str("EMAIL_HOST_PASSWORD", default="")
    )
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=EMAIL_PORT == 587)  # STARTTLS
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=EMAIL_PORT == 465)  # TLS from the first byte
    EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # a stuck relay must not hold a request
else:
    EMAIL_BACKEND = "photosite.mail.LogEmailBackend"
EMAIL_LOG_BODIES = EMBEDDED
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="photosite <noreply@localhost>")
# Where links in mail sent by jobs (no request to take the host from) point: the digest.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The language is picked per request by LocaleMiddleware: the django_language cookie
# (set by the switcher in the footer, /i18n/setlang/), else the browser's Accept-Language,
# else English. URLs do not change with the language, so a cached page must vary on both
# (Vary: Cookie, Accept-Language; the middleware adds Accept-Language). Adding a language:
# README, "Languages".
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "photosite" / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60  # remembered for a year, like the theme
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging and errors -------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console")  # "json": one ECS object per line, for Filebeat
LOGGING = requestlog.logging_config(json=LOG_FORMAT == "json", level=LOG_LEVEL)

SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.dramatiq import DramatiqIntegration
    from sentry_sdk.integrations.redis import RedisIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), RedisIntegration(), DramatiqIntegration()],
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default="") or None,  # None: the SDK finds it itself
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
    )

# --- Write limits (photosite.ratelimit) ----------------------------------------------
# Per person, whichever door the write comes by (pages, their scripts, the API): one count
# in the default cache, Redis when REDIS_URL is set. "N/min", "N/hour", "N/day" or "N/300s".
# The API_THROTTLE_* names are the ones these had when only the API counted.
WRITE_LIMITS = {
    # a photo made, by a form post, the upload page's script or the API (a refused file counts too)
    "upload": env.str("WRITE_LIMIT_UPLOAD", default=env.str("API_THROTTLE_UPLOAD", default="60/hour")),
    # direct-upload grants handed out (each makes at most one photo, which counts as an upload)
    "upload_grant": env.str(
        "WRITE_LIMIT_UPLOAD_GRANT", default=env.str("API_THROTTLE_UPLOAD_GRANT", default="120/hour")
    ),
    "comment": env.str("WRITE_LIMIT_COMMENT", default=env.str("API_THROTTLE_COMMENT", default="30/min")),
    "like": env.str("WRITE_LIMIT_LIKE", default="60/min"),  # likes and unlikes
    "follow": env.str("WRITE_LIMIT_FOLLOW", default="60/hour"),  # follows and unfollows
    "profile": env.str("WRITE_LIMIT_PROFILE", default="30/hour"),  # profile saves, each may carry an avatar
    "share": env.str("WRITE_LIMIT_SHARE", default="60/hour"),  # share links made (a password costs a hash)
}

# --- The REST API (/api/v1) ---------------------------------------------------------
# Throttle counters live in the default cache (Redis when REDIS_URL is set), so every
# web process counts against the same limits. NUM_PROXIES: how many proxies (load
# balancer, gateway) put themselves in X-Forwarded-For, so the client's own address is
# the one counted; 0 means REMOTE_ADDR is the client.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.authentication.ApiTokenAuthentication",  # named, hashed, expiring; read-only or read-write
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "login": env.str("API_THROTTLE_LOGIN", default="10/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "apps.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "photosite API",
    "DESCRIPTION": "Everything the site does: photos, people, follows, likes, comments, albums, reports.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from drf-spectacular-sidecar, served by us: no outside network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the licence choices a photo and a person's default both use.
    "ENUM_NAME_OVERRIDES": {"LicenceEnum": "apps.photos.models.Licence"},
}

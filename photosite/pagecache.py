"""Whole pages cached for anonymous visitors, answered first, before any other middleware.

A visitor's GET with no cookie but the CSRF and language ones, and no Authorization
header, is looked up by scheme, host, path with query and language. A page is stored
only when its view said it may be (`page_cache_allow`, no `page_cache_refuse`), the
response is a plain 200 that sets no cookie, varies on nothing but Cookie and
Accept-Language, and used no CSRF token, and every cached value the page was built
from went through the shared cache (photosite/cache.py, `reads_recorded`).

The entry keeps that record: the versions and value stamps the page was built from. It is served
again only while every one is unchanged, so any invalidation its fragments honour (a listing's
scope bumped, a photo's card forgotten) empties the page on every web process at once (within
the moment Redis takes to tell each, below); so does a like, a comment or a follow
(photosite/counters.py versions each count a page reads). PAGE_TTL bounds the rest, what no
version covers (a person's bio, edits made in the admin): it lags that long, plus the time one
request takes to render the page again and up to a second a web process answers it from memory
(below). When a page's PAGE_TTL is up, that one request renders it (it takes a short lock in
Redis) while the others are still answered from the entry, which is still checked against every
version and stamp: busy pages never all render at once.

A lookup is one Redis round trip: the entry is a hash holding the page, its gzipped copy
and the record, and a small Lua script compares the record with the keys it names in
Redis itself (the versions' values; each cached value's length and last bytes, where
its fresh-until stamp is) and returns the page only if nothing moved. Each web process
keeps the bytes of the pages it served last (LOCAL_PAGES_BYTES), under the digest of the
entry they came from; it sends that digest with the lookup, and when the entry Redis
holds now has the same digest the script answers with the digest alone. Whether a page
may be served is still decided by the script, every time, against the versions as they
are now: the process holds bytes, never a verdict, and only the very bytes Redis holds.
That spares Redis (on the same cores) copying a large page through Lua into its reply,
and this process reading and parsing it: the home page is about 100 KB.

A busy page need not ask at all (`_Watch`): when the process holds a page's bytes, its lookup
names the keys the entry was checked against, and Redis, asked to track them for this process
(client-side caching, `CLIENT TRACKING ... REDIRECT`), sends the name of each one to the
process's invalidation connection the moment anyone writes, deletes, expires or evicts it. Until
one does, the process answers the page from memory for up to PAGE_CACHE_VERDICT_SECONDS (1 s):
thousands of hits a second cost Redis one lookup a second per page and process. Redis sends the
message as it runs the write, so a request that reaches another process in the instant between
the writer's reply and the message (well under a millisecond on one machine) may still get the
page as it was; a lost message, a lost connection or a Redis that will not track costs at most
that second, and every hit then asks Redis as before. A page answered from memory tells nginx to
keep it no later than a second after its check (`X-Accel-Expires`), so nginx's fetch right after
a purge cannot add its own second to that one. This process's own cache writes (a photo made
private here) make it ask again at once (photosite/cache.py, `writes_here`). Under gunicorn a
hit is answered ahead of Django's handler (photosite/wsgi.py, `VisitorPages`): no
request object, no signals, no middleware. Where Django is called directly (the test
client) the middleware, listed first, answers it the same way (`hit_answer`). Either
way a hit runs nothing else: it carries the headers the rest of the stack set when the
page was stored (security headers, CSP, X-Frame-Options), gets a request id of its own,
logs the same access line, and is counted in
`photosite_page_cache_requests_total{outcome="hit"}` (django-prometheus's request
metrics see only the requests that reach it).

The edge (nginx in compose, a CDN) may keep a stored page for EDGE_SECONDS
(`Cache-Control: public, max-age=0, s-maxage=1`), and on a busy page asks the site once a
second per edge. Every change that takes something away from visitors purges the edge too
(photosite/purge.py, `page_purge`; `versions_bump(..., edge=True)` in photosite/cache.py):
nginx keys pages by the site's edge generation (answered here, at EDGE_GENERATION_PATH,
to nginx's `auth_request`), which such a change moves, so a photo made private or hidden
leaves nginx with the request that changed it. Only when that nginx is the edge
(MEDIA_PURGE_BACKEND=nginx) do kept pages also say `stale-while-revalidate` (EDGE_STALE_SECONDS):
nginx's safety does not hang on a purge call arriving (it takes the new generation within
two seconds by itself), and it strips the directive from what it passes on, so no browser
or CDN behind it serves a stale copy nobody purges. Everything else the stack answers
without a Cache-Control of its own gets `private`: a signed-in page, a form with a CSRF
token, a share link's page are never kept by anyone but the browser. `Surrogate-Key` and
`Cache-Tag` name the scopes a kept page was built from, for a CDN purge by key.

Only with a shared cache (Redis): a per-process copy could never be told to forget.
PAGE_CACHE_ENABLED=false turns it off (pages then render from the cached fragments).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import pickle
import re
import select
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import responses as reason_phrases
from typing import Any, NamedTuple, cast

from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import get_path_info, get_script_name, get_str_from_wsgi
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.http.cookie import parse_cookie
from django.http.response import ResponseHeaders
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.crypto import salted_hmac
from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError

from photosite import cache, purge, requestlog

PAGE_TTL = 10  # seconds: how stale what no version covers may be for visitors (a bio, admin edits)
PAGE_GRACE = 5  # seconds an entry past PAGE_TTL may still answer while one request renders it again
EDGE_SECONDS = 1  # how long nginx or a CDN may keep a visitor's page: the privacy promise's bound
EDGE_CACHE_CONTROL = f"public, max-age=0, s-maxage={EDGE_SECONDS}"
# How long nginx may answer with a page past its second while it fetches the page again:
# only nginx is told (the page's Cache-Control when MEDIA_PURGE_BACKEND=nginx; nginx strips it).
# Short: when the page now answers 404 or `private` (a removal that moved no edge generation,
# an admin edit), nginx keeps serving the stale copy for this whole window.
EDGE_STALE_SECONDS = 5
EDGE_CACHE_CONTROL_PURGED = f"{EDGE_CACHE_CONTROL}, stale-while-revalidate={EDGE_STALE_SECONDS}"
ALLOWED = "photosite.page_cache.allowed"
REFUSED = "photosite.page_cache.refused"
# Set in the WSGI environ by photosite/wsgi.py's VisitorPages once it has looked the request up
# and missed: the page key (None: not a visitor's GET), so the middleware neither computes it nor
# looks it up again (a miss past PAGE_TTL took the renewal lock: this request must render).
LOOKED_UP = "photosite.page_cache.looked_up"
HIT_HEADER = "X-Page-Cache"
SURROGATE_HEADERS = ("Surrogate-Key", "Cache-Tag")  # Fastly's and Cloudflare's names for the same list
# Headers the page may vary on: the key holds the language, and a request is looked up only
# without a session cookie (and stored only when it used no CSRF token).
VARY_ALLOWED = frozenset({"cookie", "accept-language"})
HEADER_LIST_SEPARATOR = re.compile(r"\s*,\s*")
ACCEPTS_GZIP = re.compile(r"\bgzip\b")  # as Django's GZipMiddleware reads Accept-Encoding
# Headers set per request, never stored: the hit sets its own.
NOT_STORED = frozenset({"x-request-id", "content-length", HIT_HEADER.lower()})
NOT_MODIFIED_HEADERS = frozenset({"etag", "last-modified", "cache-control", "vary", "content-language"})
STAMP_TAIL = 24  # bytes: a pickled (value, fresh_until) ends with the stamp (and a compressor's checksum)
MOST_DEPENDENCIES = 2000  # a page built from more values than this is not kept (the script's MGET)
# Bytes of kept pages each web process holds (by their entry's digest) so that Redis need not send
# them again: the home page is ~100 KB, a photo page ~9 KB; past this the oldest are let go.
LOCAL_PAGES_BYTES = 16 * 1024 * 1024
MOST_HOSTS = 256  # Host headers whose check against ALLOWED_HOSTS is remembered (any more: start again)
MOST_KEYS = 4096  # addresses whose page key is remembered (any more: start again)
LONGEST_KEPT_ADDRESS = 512  # characters; a longer address's key is made afresh each time

# KEYS[1]: the entry; KEYS[2...]: the keys its record names, when the caller holds the entry (named
# only so that Redis tracks them for the caller: _Watch). ARGV[1]: the body field wanted ("body" or
# "gzip"); ARGV[2]: the time now; ARGV[3]: how long a renewal may take; ARGV[4]: the digest of the
# entry whose bytes the caller holds ('' for none). When every version and value stamp the page was
# built from is still the one recorded, returns {digest} if the caller holds this very entry, else
# {digest, meta, body, versions, values}; unless the entry is past its PAGE_TTL and this caller is
# the one to render it again (the first to take the renewal lock). The page's bytes are read only
# when they are sent, with the record's keys.
HIT_SCRIPT = """
local entry = redis.call('HMGET', KEYS[1], 'versions', 'versions_seen', 'values', 'values_seen', 'digest',
  'fresh_until')
if not entry[1] then return false end
if entry[1] ~= '' then
  local keys = {}
  for key in string.gmatch(entry[1], '[^\\n]+') do keys[#keys + 1] = key end
  local found = redis.call('MGET', unpack(keys))
  for i = 1, #found do if not found[i] then found[i] = '' end end
  if table.concat(found, '\\n') ~= entry[2] then return false end
end
if entry[3] ~= '' then
  local seen = {}
  for key in string.gmatch(entry[3], '[^\\n]+') do
    seen[#seen + 1] = redis.call('STRLEN', key) .. ':' .. redis.call('GETRANGE', key, -STAMP_TAIL, -1)
  end
  if table.concat(seen, '\\0') ~= entry[4] then return false end
end
local fresh_until = tonumber(entry[6]) or 0
if fresh_until < tonumber(ARGV[2]) and redis.call('SET', KEYS[1] .. ':renewing', '1', 'NX', 'EX', ARGV[3]) then
  return false
end
local digest = entry[5] or ''
if digest ~= '' and digest == ARGV[4] then return {digest} end
local kept = redis.call('HMGET', KEYS[1], 'meta', ARGV[1])
return {digest, kept[1], kept[2], entry[1], entry[3]}
""".replace("STAMP_TAIL", str(STAMP_TAIL))

PAGE_CACHE_REQUESTS = Counter(
    "photosite_page_cache_requests",
    "Page requests by outcome: hit, stored (a miss, rendered and kept), rendered (a visitor's GET not kept),"
    " bypassed (not a visitor's GET: signed in, cookies, a write)",
    ["outcome"],
)


_counted: dict[str, Any] = {}  # outcome -> its counter, bound at first use


def page_cache_count(outcome: str) -> None:
    counter = _counted.get(outcome)
    if counter is None:
        counter = _counted[outcome] = PAGE_CACHE_REQUESTS.labels(outcome)
    counter.inc()


@dataclass(frozen=True, slots=True)
class _HitSettings:
    """What looking a visitor's page up reads of the settings, read once per process: each read
    of Django's lazy `settings` goes through its proxy, and a hit read about thirteen (a fifth of
    its key's cost). Read again after any setting changes (`setting_changed`: override_settings)."""

    enabled: bool
    harmless_cookies: frozenset[str]
    language_cookie: str
    use_i18n: bool
    language_code: str
    forwarded_host: bool
    proxy_ssl_header: tuple[str, str] | None
    verdict_seconds: float


_hit_settings_now: list[_HitSettings] = []  # none until the first request, then one


def _hit_settings() -> _HitSettings:
    if _hit_settings_now:
        return _hit_settings_now[0]
    proxy_ssl_header = settings.SECURE_PROXY_SSL_HEADER
    now = _HitSettings(
        enabled=bool(settings.PAGE_CACHE_ENABLED) and cache.cache_is_shared(),
        harmless_cookies=frozenset({settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME}),
        language_cookie=settings.LANGUAGE_COOKIE_NAME,
        use_i18n=bool(settings.USE_I18N),
        language_code=settings.LANGUAGE_CODE,
        forwarded_host=bool(settings.USE_X_FORWARDED_HOST),
        proxy_ssl_header=tuple(proxy_ssl_header) if proxy_ssl_header else None,  # type: ignore[arg-type]
        verdict_seconds=float(settings.PAGE_CACHE_VERDICT_SECONDS),
    )
    _hit_settings_now[:] = [now]
    return now


def page_cache_enabled() -> bool:
    return _hit_settings().enabled


def page_cache_allow(request: HttpRequest) -> None:
    """The view's page is the same for every anonymous visitor and built from cached values."""
    request.META[ALLOWED] = True


def page_cache_refuse(request: HttpRequest) -> None:
    """The page shows something no cache version covers (overrides any allow)."""
    request.META[REFUSED] = True


def _well_formed(request: HttpRequest) -> bool:
    """What photosite.errors.RejectMalformedRequests would let through: a hit must not answer
    a request the stack would refuse."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    query = request.META.get("QUERY_STRING", "")
    return length.isdigit() and "\x00" not in request.path and "%00" not in query and "\x00" not in query


@functools.lru_cache(maxsize=256)
def _language_for(cookie: str | None, accept_language: str | None) -> str:
    """Django's own choice (LocaleMiddleware's, without i18n URL prefixes) from the only two
    things it reads: the language cookie and Accept-Language. Kept per pair: a tenth of a hit
    went to parsing the same header again."""
    asked = HttpRequest()
    if cookie is not None:
        asked.COOKIES[settings.LANGUAGE_COOKIE_NAME] = cookie
    if accept_language is not None:
        asked.META["HTTP_ACCEPT_LANGUAGE"] = accept_language
    return translation.get_language_from_request(asked)


_hosts: dict[str, bool] = {}  # Host header -> whether ALLOWED_HOSTS lets it in (Django's own check)
_keys: dict[tuple[str, str, str, str, str], str] = {}  # (scheme, host, path, query, language) -> page key


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    _language_for.cache_clear()  # tests that override LANGUAGES or LANGUAGE_CODE
    _hit_settings_now.clear()
    _hosts.clear()  # ALLOWED_HOSTS, DEBUG
    _keys.clear()
    if setting == "CACHES":
        _stores.clear()


setting_changed.connect(_settings_changed)


def _allowed_host(request: HttpRequest, now: _HitSettings) -> str | None:
    """request.get_host(), or None where it raises DisallowedHost; remembered per Host header,
    the only thing its answer depends on but the settings (a tenth of a hit went to it)."""
    meta = request.META
    if now.forwarded_host and "HTTP_X_FORWARDED_HOST" in meta:
        raw = meta["HTTP_X_FORWARDED_HOST"]
    else:
        raw = meta.get("HTTP_HOST")
    if raw is None:  # no Host header: Django builds it from the server's name and port, each time
        try:
            return request.get_host()
        except DisallowedHost:
            return None
    allowed = _hosts.get(raw)
    if allowed is None:
        try:
            request.get_host()
            allowed = True
        except DisallowedHost:
            allowed = False
        if len(_hosts) >= MOST_HOSTS:  # made-up Host headers cannot grow it without bound
            _hosts.clear()
        _hosts[raw] = allowed
    return raw if allowed else None


def _scheme(request: HttpRequest, now: _HitSettings) -> str:
    """request.scheme, from the settings read once."""
    if now.proxy_ssl_header is not None:
        header, secure_value = now.proxy_ssl_header
        value = request.META.get(header)
        if value is not None:
            return "https" if value.split(",", 1)[0].strip() == secure_value else "http"
    return str(request._get_scheme())  # type: ignore[attr-defined]  # what request.scheme falls back on


def page_key_for(request: HttpRequest) -> str | None:
    """The key an anonymous visitor's GET is cached under, None if it must not be."""
    meta = request.META
    if request.method != "GET" or "HTTP_AUTHORIZATION" in meta:
        return None
    now = _hit_settings()
    cookies = request.COOKIES
    if cookies and not now.harmless_cookies.issuperset(cookies):
        return None
    if not _well_formed(request):
        return None
    host = _allowed_host(request, now)
    if host is None:
        return None  # the stack below answers it with a 400
    if now.use_i18n:
        language = _language_for(cookies.get(now.language_cookie), meta.get("HTTP_ACCEPT_LANGUAGE"))
    else:
        language = now.language_code
    address = (_scheme(request, now), host, request.path, meta.get("QUERY_STRING", ""), language)
    key = _keys.get(address)
    if key is None:
        where = f"{address[0]}://{host}{request.get_full_path()}"
        # "pagecache3": entries hold their headers as the list a WSGI server is handed (hit_answer);
        # a process of the release before, which stored Django's mapping, never reads one of these.
        key = f"pagecache3:{language}:{hashlib.blake2b(where.encode(), digest_size=16).hexdigest()}"
        if len(where) <= LONGEST_KEPT_ADDRESS:  # made-up long queries must not pin memory
            if len(_keys) >= MOST_KEYS:
                _keys.clear()
            _keys[address] = key
    return key


class Visitor(HttpRequest):
    """What the page key, the request id and the access line read of a request, straight from the
    WSGI environ (photosite/wsgi.py), without building Django's WSGIRequest: its path as
    WSGIRequest makes it, its cookies, and HttpRequest's own host check, scheme and full path."""

    def __init__(self, environ: dict[str, Any]) -> None:  # no super().__init__(): nothing else is read
        script_name = get_script_name(environ)
        path_info = get_path_info(environ) or "/"
        self.path = "{}/{}".format(script_name.rstrip("/"), path_info.replace("/", "", 1))
        self.path_info = path_info
        self.META = environ  # read only: Django's own request is made from it next, on a miss
        self.method = str(environ["REQUEST_METHOD"]).upper()
        raw_cookie = get_str_from_wsgi(environ, "HTTP_COOKIE", "")
        self.COOKIES = parse_cookie(raw_cookie) if raw_cookie else {}

    def _get_scheme(self) -> str:
        return str(self.META.get("wsgi.url_scheme"))


def _storable(request: HttpRequest, response: HttpResponseBase, reads: cache.CacheReads, language: str) -> bool:
    if not (request.META.get(ALLOWED) and not request.META.get(REFUSED) and reads.complete):
        return False
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return False  # a form with this visitor's token: never into a shared copy
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    if "Cache-Control" in response or "Content-Encoding" in response:
        return False  # the view chose its own caching (private, no-store, ...) or encoding
    vary = {header.lower() for header in HEADER_LIST_SEPARATOR.split(response.get("Vary", "")) if header}
    if not vary <= VARY_ALLOWED:
        return False
    return response.get("Content-Language", language) == language


def _redis() -> Any:
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


class KeptPage(NamedTuple):
    """A kept page as a hit answers it: status, ETag, the headers the stack set, the body asked for."""

    status: int
    etag: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes


def entry_digest(meta: bytes, body: bytes, packed: bytes, versions: bytes, values: bytes) -> bytes:
    """What names one stored entry: a process holding a page under it holds those bytes, and
    the names of the keys it was built from (the same bytes saved again from other keys, a
    version bumped that changed nothing shown, is another entry: its new keys must be tracked)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (meta, body, packed, versions, values):
        digest.update(b"%d:" % len(part))
        digest.update(part)
    return digest.hexdigest().encode()


INVALIDATIONS = b"__redis__:invalidate"  # the channel Redis sends client-side caching's invalidations on
WATCH_PING_SECONDS = 1.0  # how often the invalidation connection is asked whether it is still there
WATCH_RETRY_SECONDS = 1.0  # how soon a lost invalidation connection is opened again
WATCH_REFUSED_SECONDS = 300.0  # how soon again after Redis refused client-side caching
_INCOMPLETE = object()
_MISSING = object()


def _resp_item(buffer: bytes, at: int) -> tuple[Any, int]:
    """One item of Redis' protocol (RESP2 or RESP3, which the connection may have chosen) from
    buffer[at:], and where the next begins; (_INCOMPLETE, at) when the rest has not arrived yet."""
    end = buffer.find(b"\r\n", at)
    if end < 0:
        return _INCOMPLETE, at
    kind, line, after = buffer[at : at + 1], buffer[at + 1 : end], end + 2
    if kind in b"*>~%":  # array, push, set, map (its keys and values in a row)
        count = int(line) * (2 if kind == b"%" else 1)
        items: list[Any] | None = None if count < 0 else []
        for _ in range(max(count, 0)):
            item, after = _resp_item(buffer, after)
            if item is _INCOMPLETE:
                return _INCOMPLETE, at
            items.append(item)  # type: ignore[union-attr]
        return items, after
    if kind in b"$=":
        length = int(line)
        if length < 0:
            return None, after
        if len(buffer) < after + length + 2:
            return _INCOMPLETE, at
        return buffer[after : after + length], after + length + 2
    if kind == b"-":
        raise RedisError(line.decode(errors="replace"))
    if kind == b"_":
        return None, after
    return (int(line) if kind == b":" else line), after


@dataclass(slots=True)
class _Held:
    """A page whose bytes this process holds, under the digest of the entry they came from; the
    keys that entry was checked against (its own, its record's versions and values); and when
    Redis last said it may be served (`checked_at`, `checked_seq`: _Watch's count then)."""

    digest: bytes
    page: KeptPage
    keys: tuple[bytes, ...]
    checked_at: float = -1.0
    checked_seq: int = -1
    checked_writes: int = -1
    checked_by: Any = None  # the socket of the hit connection it was checked on
    changed_seq: int = 0  # the count at the last invalidation of one of its keys
    # What is answered from memory: the page, telling nginx to keep it no later than a second
    # after the check (its s-maxage counts from when it fetched), so that a page answered from
    # memory to nginx's fetch right after a purge cannot outlive the privacy promise's second.
    from_memory: KeptPage | None = None


def _held_size(held: _Held) -> int:
    """What holding a page costs, roughly: its body, its headers, and the names of its keys with
    their entries in `dependents` (a page may have been built from 2,000 values)."""
    return len(held.page.body) + 1024 + sum(len(name) + 150 for name in held.keys)


class _Watch:
    """This process's connection for Redis' invalidation messages (client-side caching in RESP2's
    redirect mode): each hit connection asks Redis to track the keys a kept page was checked
    against (`CLIENT TRACKING ON REDIRECT`, the keys named in the hit script's KEYS) and Redis sends
    here the name of every such key as it is written, deleted, expired or evicted, by any process.

    So a page Redis said may be served is answered again from the bytes held, without asking,
    until one of its keys changes, this process writes to the cache itself, or PAGE_CACHE_VERDICT_SECONDS
    pass; and never while this connection is not known to be up: not yet subscribed, closed, or
    silent past its ping. Whatever goes wrong (a Redis without CLIENT TRACKING, a proxy, a lost
    connection) costs the round trip every hit made before, never a page that should be gone.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.connection: Any = None
        self.socket: Any = None
        self.client_id: int | None = None
        self.subscribed = False
        self.buffer = b""
        self.seq = 0  # invalidations read so far
        self.reset_seq = 0  # pages checked before this count are asked about again (a flush, a loss)
        self.retry_at = 0.0
        self.ping_at = 0.0
        self.pong_due: float | None = None
        self.lock = threading.Lock()
        self.on_keys: Callable[[list[bytes]], None] = lambda keys: None  # _Store marks the pages they touch

    def current(self, now: float, checked_by: Any = None) -> tuple[int | None, bool]:
        """Read what Redis has sent. The count of invalidations now, or None when no page may be
        answered without asking (this connection is not up, or not yet subscribed); and whether
        `checked_by`, the hit connection a page was last checked on, is still open and idle (what
        Redis tracked for a connection it closed is tracked no more): one poll() for both."""
        with self.lock:
            if self.socket is None:
                if now >= self.retry_at:
                    self._open(now)
                return None, False
            idle = False
            try:
                poller = select.poll()  # not select(): descriptors past 1024
                watched = self.socket.fileno()
                poller.register(watched, select.POLLIN)
                checked = checked_by.fileno() if checked_by is not None else -1
                if checked >= 0:
                    poller.register(checked, select.POLLIN)
                ready = {fd for fd, _ in poller.poll(0)}  # a closed one answers too (POLLNVAL, POLLHUP)
                idle = checked >= 0 and checked not in ready  # an idle connection has nothing to read but its close
                if watched in ready:
                    self._drain()
                self._read_messages()
                if self.pong_due is not None and now > self.pong_due:
                    raise RedisConnectionError("the invalidation connection did not answer its ping")
                if now >= self.ping_at:
                    self.socket.send(b"*1\r\n$4\r\nPING\r\n")  # a few bytes: the buffer takes them
                    self.ping_at = now + WATCH_PING_SECONDS
                    if self.pong_due is None:
                        self.pong_due = now + 2 * WATCH_PING_SECONDS
            except (BlockingIOError, ssl.SSLWantReadError):
                pass
            except (OSError, RedisError, ValueError):
                self._lost(now)
                return None, False
            return (self.seq if self.subscribed else None), idle

    def _drain(self) -> None:
        """Read all that came, not one buffer's worth: the close may be behind a backlog."""
        while True:
            try:
                chunk = self.socket.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                return
            if not chunk:
                raise RedisConnectionError("the invalidation connection was closed")
            self.buffer += chunk

    def _read_messages(self) -> None:
        at = 0
        while at < len(self.buffer):
            message, after = _resp_item(self.buffer, at)
            if message is _INCOMPLETE:
                break
            at = after
            if message == b"PONG":  # RESP3 answers a ping in subscribed mode as it would elsewhere
                self.pong_due = None
                continue
            if not isinstance(message, list) or not message:
                continue
            kind, keys = message[0], cast(Any, _MISSING)
            if kind == b"message" and len(message) == 3 and message[1] == INVALIDATIONS:
                keys = message[2]
            elif kind == b"invalidate" and len(message) == 2:  # RESP3's push
                keys = message[1]
            elif kind == b"pong":
                self.pong_due = None
            elif kind == b"subscribe":
                self.subscribed = True
            if keys is not _MISSING:
                self.seq += 1
                if keys is None:  # FLUSHDB, FLUSHALL: every key
                    self.reset_seq = self.seq
                else:
                    self.on_keys(keys)
        self.buffer = self.buffer[at:]

    def _open(self, now: float) -> None:
        self.retry_at = now + WATCH_RETRY_SECONDS
        pool = self.client.connection_pool
        connection = pool.connection_class(**pool.connection_kwargs)
        try:
            connection.connect()
            connection.send_command("CLIENT", "ID")
            client_id = int(connection.read_response())
            connection.send_command("CLIENT", "SETNAME", f"photosite-page-invalidations-{os.getpid()}")
            connection.read_response()
            connection.send_command("SUBSCRIBE", INVALIDATIONS)  # its answer is read as a message
            connection._sock.setblocking(False)  # read without waiting, on each hit (redis-py's own socket)
        except ResponseError:  # no CLIENT TRACKING here (a proxy): every hit asks Redis, as before
            connection.disconnect()
            self.retry_at = now + WATCH_REFUSED_SECONDS
            return
        except (OSError, RedisError, ValueError, TypeError):
            connection.disconnect()
            return
        self.connection, self.socket, self.client_id = connection, connection._sock, client_id
        self.subscribed, self.buffer, self.pong_due, self.ping_at = False, b"", None, now + WATCH_PING_SECONDS
        self.reset_seq = self.seq = self.seq + 1

    def _lost(self, now: float) -> None:
        if self.connection is not None:
            self.connection.disconnect()
        self.connection = self.socket = self.client_id = None
        self.subscribed, self.buffer = False, b""
        self.reset_seq = self.seq = self.seq + 1
        self.retry_at = now + WATCH_RETRY_SECONDS

    def refused(self) -> None:
        """Redis would not track a hit connection's reads: close, and do not ask again for a while."""
        with self.lock:
            self._lost(time.monotonic())
            self.retry_at += WATCH_REFUSED_SECONDS

    def forget_all(self, *, lost: bool = False) -> None:
        """Every page is asked about again (a hit connection was replaced: what Redis tracked for it
        is gone); `lost`: Redis no longer knows this invalidation connection, so open another."""
        with self.lock:
            if lost:
                self._lost(time.monotonic())
            else:
                self.reset_seq = self.seq = self.seq + 1


class _Store:
    """The Redis side: the hit script, and storing an entry with what it was built from."""

    def __init__(self) -> None:
        self.client = _redis()
        self.hit_script = self.client.register_script(HIT_SCRIPT)
        backend = django_cache.client  # type: ignore[attr-defined]  # django-redis's client
        self.make_key: Callable[[str], Any] = backend.make_key
        self.decode: Callable[[bytes], Any] = backend.decode
        # The hit's EVALSHA, written out in Redis' protocol but for its keys and arguments:
        # redis-py's packing, retry wrapper and pool took a third of a hit's CPU.
        self.hit_command_name = _bulk(b"EVALSHA") + _bulk(self.hit_script.sha.encode())
        self.hit_command_field = {field: _bulk(field.encode()) for field in ("body", "gzip")}
        self.renewal = _bulk(str(PAGE_GRACE).encode())
        self.own = threading.local()  # a connection of each thread's own, outside the pool
        # (page key, field) -> the bytes of a page served last, with what they were checked against.
        self.held: dict[tuple[str, str], _Held] = {}
        self.held_bytes = 0
        self.held_lock = threading.Lock()
        # A tracked key -> the held pages checked against it (for _Watch's messages).
        self.dependents: dict[bytes, set[tuple[str, str]]] = {}
        self.watch = _Watch(self.client)
        self.watch.on_keys = self._keys_changed

    def _connection(self) -> Any:
        own = getattr(self.own, "connection", None)
        if own is None or self.own.pid != os.getpid():  # a forked child opens its own
            pool = self.client.connection_pool
            own = self.own.connection = pool.connection_class(**pool.connection_kwargs)
            self.own.pid = os.getpid()
            self.own.tracked = None
        return own

    def _tracked(self, connection: Any, client_id: int | None) -> bool:
        """Whether Redis tracks what this connection reads for the invalidation connection
        `client_id`: asked once per connection and invalidation connection."""
        if client_id is None:
            return False
        if self.own.tracked is not None and self.own.tracked != (client_id, connection._sock):
            self.watch.forget_all()  # reconnected since: what the old one read is tracked no more
            self.own.tracked = None
        if self.own.tracked is None:
            connection.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id)
            try:
                connection.read_response()
            except ResponseError as refusal:
                if "does not exist" in str(refusal):  # the invalidation connection is gone: open another
                    self.watch.forget_all(lost=True)
                else:  # a Redis before 6, or a proxy: every hit asks, as before, for a while
                    self.watch.refused()
                return False
            self.own.tracked = (client_id, connection._sock)
        return True

    def _keys_changed(self, keys: list[bytes]) -> None:
        seq = self.watch.seq
        with self.held_lock:
            for name in keys:
                for page in self.dependents.get(name, ()):
                    if (held := self.held.get(page)) is not None:
                        held.changed_seq = seq

    def lookup(self, key: str, *, gzipped: bool) -> KeptPage | None:
        """The page if every version and stamp it was built from is unchanged: answered from the
        bytes held while Redis has said so and nothing has changed since (_Watch), else one EVALSHA
        on this thread's own connection; None (render) if Redis is away or slow."""
        field = "gzip" if gzipped else "body"
        now = time.monotonic()
        watch = self.watch
        writes = cache.writes_here()
        held = self.held.get((key, field))  # taken now: another thread may let it go meanwhile
        verdict_seconds = _hit_settings().verdict_seconds
        if held is not None and held.checked_writes == writes and now - held.checked_at < verdict_seconds:
            seq, idle = watch.current(now, held.checked_by)
            fresh = idle and seq is not None and held.checked_seq >= max(held.changed_seq, watch.reset_seq)
            if fresh and held.from_memory is not None:
                self._used(key, field)
                return held.from_memory
        elif verdict_seconds > 0:
            seq, _ = watch.current(now)
        else:  # verdicts off: no invalidation connection, nothing for Redis to track
            seq = None
        entry = str(self.make_key(key)).encode()
        keys = held.keys if held is not None and seq is not None else (entry,)
        held_digest = held.digest if held is not None else b""
        moment = repr(time.time()).encode()
        command = b"".join(
            (
                b"*%d\r\n" % (7 + len(keys)),
                self.hit_command_name,
                _bulk(b"%d" % len(keys)),
                *(_bulk(name) for name in keys),
                self.hit_command_field[field],
                _bulk(moment),
                self.renewal,
                _bulk(held_digest),
            )
        )
        connection = self._connection()
        tracked = False
        try:
            try:
                try:
                    tracked = seq is not None and held is not None and self._tracked(connection, watch.client_id)
                    connection.send_packed_command([command], check_health=False)
                    found = connection.read_response()
                except RedisConnectionError:  # an idle connection Redis or a proxy closed: once more
                    connection.disconnect()
                    tracked = False
                    connection.send_packed_command([command], check_health=False)
                    found = connection.read_response()
            except NoScriptError:  # Redis restarted or its scripts were flushed: load it, once
                found = self.hit_script(keys=list(keys), args=[field, moment, PAGE_GRACE, held_digest])
                tracked = False
        except RedisError:
            connection.disconnect()  # reconnects on the next hit
            return None  # Redis is down: render, as every other read does
        if not found:
            return None
        if len(found) == 1:  # the entry is still the one whose bytes this process holds
            if held is None or found[0] != held_digest:
                return None
            if tracked:  # Redis now tracks every key it was checked against, for this process
                held.checked_at, held.checked_seq, held.checked_writes = now, seq, writes  # type: ignore[assignment]
                held.checked_by = connection._sock
                page = held.page
                until = ("X-Accel-Expires", f"@{int(float(moment)) + EDGE_SECONDS}")
                held.from_memory = page._replace(headers=(*page.headers, until))
            self._used(key, field)
            return held.page
        digest, meta, body, versions, values = found
        if meta is None or body is None:
            return None
        status, etag, headers = pickle.loads(meta)  # noqa: S301 (our own entry: PageCacheMiddleware made it)
        page = KeptPage(status, etag, headers, body)
        if digest:
            names = (entry, *(name for name in b"\n".join((versions or b"", values or b"")).split(b"\n") if name))
            self.hold(key, field, _Held(digest, page, names))
        return page

    def _used(self, key: str, field: str) -> None:
        with self.held_lock:  # used now: the last to be let go (a crawler's pages go first)
            if (still := self.held.pop((key, field), None)) is not None:
                self.held[(key, field)] = still

    def _let_go(self, page: tuple[str, str]) -> None:
        held = self.held.pop(page)
        self.held_bytes -= _held_size(held)
        for name in held.keys:
            dependents = self.dependents.get(name)
            if dependents is not None:
                dependents.discard(page)
                if not dependents:
                    del self.dependents[name]

    def hold(self, key: str, field: str, held: _Held) -> None:
        """Keep the page's bytes for the next lookups, within LOCAL_PAGES_BYTES (least recently
        used out first)."""
        size = _held_size(held)
        if size > LOCAL_PAGES_BYTES // 8:
            return  # one page alone must not push out most of the others
        with self.held_lock:
            if (key, field) in self.held:
                self._let_go((key, field))
            while self.held and self.held_bytes + size > LOCAL_PAGES_BYTES:
                self._let_go(next(iter(self.held)))
            self.held[(key, field)] = held
            self.held_bytes += size
            for name in held.keys:
                self.dependents.setdefault(name, set()).add((key, field))

    def save(self, key: str, reads: cache.CacheReads, meta: bytes, body: bytes) -> bool:
        """Keep the page if what it was built from is still what Redis holds now (read raw,
        so the record is exactly what the script will compare); False if something moved."""
        versions = [str(self.make_key(name)) for name in reads.versions]
        values = [str(self.make_key(name)) for name in reads.stamps]
        if len(versions) + len(values) > MOST_DEPENDENCIES:
            return False
        try:
            raw: list[bytes | None] = self.client.mget(versions + values) if versions or values else []
            version_raws: list[bytes] = []
            value_raws: list[bytes] = []
            for seen, found in zip(reads.versions.values(), raw[: len(versions)], strict=True):
                if found is None or str(self.decode(found)) != seen:
                    return False
                version_raws.append(found)
            for stamp, found in zip(reads.stamps.values(), raw[len(versions) :], strict=True):
                envelope = self.decode(found) if found is not None else None
                if found is None or not isinstance(envelope, tuple) or envelope[1] != stamp:
                    return False
                value_raws.append(found)
            # Sent as stored to clients that accept gzip: compressed once, here. No secret is in
            # a page kept for visitors (no CSRF token), so BREACH has nothing to find.
            packed = gzip.compress(body, compresslevel=6, mtime=0)
            version_names, value_names = "\n".join(versions).encode(), "\n".join(values).encode()
            fields = {
                "versions": version_names,
                "versions_seen": b"\n".join(version_raws),
                "values": value_names,
                "values_seen": b"\0".join(f"{len(found)}:".encode() + found[-STAMP_TAIL:] for found in value_raws),
                "meta": meta,
                "body": body,
                "gzip": packed,
                "digest": entry_digest(meta, body, packed, version_names, value_names),
                "fresh_until": repr(time.time() + PAGE_TTL),
            }
            entry = self.make_key(key)
            with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(entry)
                pipe.hset(entry, mapping=fields)
                pipe.expire(entry, PAGE_TTL + PAGE_GRACE)
                pipe.delete(f"{entry}:renewing")
                pipe.execute()
        except RedisError:
            return False
        return True


_stores: dict[int, _Store] = {}  # pid -> this process's store, made at its first request


def _store() -> _Store:
    store = _stores.get(os.getpid())
    if store is None:
        store = _stores[os.getpid()] = _Store()
    return store


def page_lookup(key: str, *, gzipped: bool) -> KeptPage | None:
    """The kept page under `key` (the body asked for), if it may still be served."""
    return _store().lookup(key, gzipped=gzipped)


def accepts_gzip(meta: dict[str, Any]) -> bool:
    return ACCEPTS_GZIP.search(meta.get("HTTP_ACCEPT_ENCODING", "")) is not None


class PageCacheMiddleware:
    """First in MIDDLEWARE: keeps visitors' pages; answers a hit where photosite/wsgi.py did not."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.enabled = page_cache_enabled()
        edge_purged = settings.MEDIA_PURGE.backend == "nginx"
        self.edge_cache_control = EDGE_CACHE_CONTROL_PURGED if edge_purged else EDGE_CACHE_CONTROL

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path == purge.EDGE_GENERATION_PATH and request.method in ("GET", "HEAD"):
            return _edge_generation()
        looked_up = LOOKED_UP in request.META  # by photosite/wsgi.py, which missed
        if not self.enabled:
            key = None
        elif looked_up:
            key = request.META[LOOKED_UP]
        else:
            key = page_key_for(request)
        if key is None:
            page_cache_count("bypassed")
            return _private_unless_told(self.get_response(request))
        started = time.perf_counter()
        if not looked_up:
            gzipped = accepts_gzip(request.META)
            found = page_lookup(key, gzipped=gzipped)
            if found is not None:
                page_cache_count("hit")
                status, headers, body = hit_answer(request, found, gzipped=gzipped, started=started)
                hit = HttpResponse(body, status=status)
                hit.headers = ResponseHeaders(dict(headers))
                return hit
        with cache.reads_recorded() as reads:
            response = self.get_response(request)
        language = key.split(":", 2)[1]
        if isinstance(response, HttpResponse) and _storable(request, response, reads, language):
            response["Cache-Control"] = self.edge_cache_control
            patch_vary_headers(response, ["Accept-Encoding"])  # the same address answers gzip or not
            scopes = " ".join(name.removeprefix("version:") for name in reads.versions)
            if scopes:
                response[SURROGATE_HEADERS[0]] = scopes
                response[SURROGATE_HEADERS[1]] = scopes.replace(" ", ",")
            # Kept as the list a WSGI server is handed (Django's WSGIHandler hands it
            # response.items()), checked once, here: a hit passes it on as it is.
            kept = tuple((name, value) for name, value in response.items() if name.lower() not in NOT_STORED)
            meta = pickle.dumps((response.status_code, response.get("ETag"), kept), protocol=pickle.HIGHEST_PROTOCOL)
            if _store().save(key, reads, meta, response.content):
                page_cache_count("stored")
                return response
        page_cache_count("rendered")
        return _private_unless_told(response)


STATUS_LINES = {status: f"{status} {reason_phrases[status]}" for status in (200, 304)}


def hit_answer(
    request: HttpRequest, found: KeptPage, *, gzipped: bool, started: float
) -> tuple[int, list[tuple[str, str]], bytes]:
    """A kept page's status, headers and body, as Django's WSGIHandler would hand them to the
    server; with this request's id, and its access line logged."""
    status, etag, kept, body = found
    if etag is not None and etag in HEADER_LIST_SEPARATOR.split(request.META.get("HTTP_IF_NONE_MATCH", "").strip()):
        # The client holds this very page (a kept API list or photo, which carry an ETag): a 304,
        # as the view itself would answer, with the validators and caching headers only.
        status, body, gzipped = 304, b"", False
        headers = [(name, value) for name, value in kept if name.lower() in NOT_MODIFIED_HEADERS]
    else:
        headers = list(kept)  # what the stack set when it was kept
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    request_id = requestlog.request_id_for(request)
    headers += (("Content-Length", str(len(body))), (HIT_HEADER, "hit"), (requestlog.REQUEST_ID_HEADER, request_id))
    requestlog.log_access(request, status, time.perf_counter() - started, request_id=request_id)
    return status, headers, body


EDGE_GENERATION_SALT = "photosite.pagecache.edge-generation"


def _edge_generation() -> HttpResponse:
    """What nginx keys visitors' pages by (its `auth_request`, kept a second; a purge fetches it
    again at once). The same for everyone, holding nothing about anyone."""
    # Opaque: the stored number is the time of the last withdrawal, which nobody outside needs to
    # learn (the web processes may be reachable without nginx in front).
    generation = salted_hmac(EDGE_GENERATION_SALT, cache.edge_generation(), algorithm="sha256").hexdigest()[:20]
    response = HttpResponse(generation, content_type="text/plain")
    response[purge.EDGE_GENERATION_HEADER] = generation
    response["Cache-Control"] = EDGE_CACHE_CONTROL  # never stale-while-revalidate: this is the purge
    return response


def _private_unless_told(response: HttpResponseBase) -> HttpResponseBase:
    """What the stack answered but did not keep for visitors is kept by no shared cache."""
    if "Cache-Control" not in response:
        response["Cache-Control"] = "private"
    return response

"""Probes for the load balancer and the orchestrator.

/healthz: liveness, no I/O, so a slow dependency never gets a process killed.
/readyz: every dependency with its state and latency; 503 when a required one is
down (READYZ_REQUIRED, default: the primary database only, because taking every
web box out of rotation when a shared service fails would turn a degraded site
into an outage). Results are reused for READYZ_CACHE_SECONDS so a balancer
polling every second costs one round of checks per process per interval.
The checks (whose errors name internal addresses) are shown to operators only, by
/metrics's rule; everyone else gets the status and the status code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from photosite.db import monitor
from photosite.http import request_is_from_operators


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _timed(check: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        details = check() or {}
        state = details.pop("state", "up")
    except Exception as error:  # a probe reports every failure; it never raises
        details, state = {"error": f"{type(error).__name__}: {str(error)[:200]}"}, "down"
    return {"state": state, "latency_ms": round((time.perf_counter() - started) * 1000, 1), **details}


def _database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def _replica(alias: str) -> Callable[[], dict[str, Any]]:
    def check() -> dict[str, Any]:
        state = monitor.state(alias)
        return {"state": "up" if state.healthy else "down", "lag_seconds": state.lag_seconds, "reason": state.reason}

    return check


def _cache() -> dict[str, Any] | None:
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        return {"state": "up", "backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}
    from django_redis import get_redis_connection

    get_redis_connection("default").ping()  # the cache itself swallows errors; the client does not
    return None


def _storage() -> dict[str, Any] | None:
    from django.core.files.storage import default_storage

    connection = getattr(default_storage, "connection", None)
    if connection is None:
        return {"state": "up", "backend": "local files"}
    # S3Storage's bucket_name: only storages with a connection get here.
    connection.meta.client.head_bucket(Bucket=default_storage.bucket_name)  # type: ignore[attr-defined]
    return None


def _broker() -> dict[str, Any] | None:
    import dramatiq

    broker = dramatiq.get_broker()
    client = getattr(broker, "client", None)
    if client is not None:  # Redis
        client.ping()
        return None
    connection = getattr(broker, "connection", None)
    if connection is not None and hasattr(connection, "is_open"):  # RabbitMQ
        return {"state": "up" if connection.is_open else "down"}
    return {"state": "up", "backend": "embedded"}


def readiness_checks() -> dict[str, Callable[[], dict[str, Any] | None]]:
    checks: dict[str, Callable[[], dict[str, Any] | None]] = {"database": _database}
    for alias in settings.DATABASE_REPLICAS:
        checks[f"replica:{alias}"] = _replica(alias)
    checks.update({"cache": _cache, "storage": _storage, "broker": _broker})
    return checks


_last: tuple[float, dict[str, Any], int] | None = None
_lock = threading.Lock()


def readiness() -> tuple[dict[str, Any], int]:
    global _last
    with _lock:
        if _last is not None and time.monotonic() - _last[0] < settings.READYZ_CACHE_SECONDS:
            return _last[1], _last[2]
        results = {name: _timed(check) for name, check in readiness_checks().items()}
        required = set(settings.READYZ_REQUIRED)
        for name, result in results.items():
            result["required"] = name in required or name.split(":")[0] in required
        if any(result["state"] != "up" and result["required"] for result in results.values()):
            status, code = "down", 503
        elif any(result["state"] != "up" for result in results.values()):
            status, code = "degraded", 200
        else:
            status, code = "ok", 200
        body = {"status": status, "checks": results}
        _last = (time.monotonic(), body, code)
        return body, code


def readiness_forget() -> None:
    """Drop the reused result (tests, and after a configuration change)."""
    global _last
    _last = None


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    body, code = readiness()
    if not request_is_from_operators(request):
        body = {"status": body["status"]}
    return JsonResponse(body, status=code)

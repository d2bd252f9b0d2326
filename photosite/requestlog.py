"""The logging seam: a request id on every log line of a request and of the jobs it enqueues.

The id comes from the X-Request-ID header (set by nginx or the load balancer) when
it looks sane, or is made here; it is echoed in the response, carried inside each
Dramatiq message the request sends, and set again while a worker runs that message.
With LOG_FORMAT=json every line is one Elastic Common Schema object (ecs-logging).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import sentry_sdk
from dramatiq.middleware import Middleware as DramatiqMiddleware
from ecs_logging import StdlibFormatter
from ecs_logging._meta import ECS_VERSION
from ecs_logging._utils import de_dot, flatten_dict, merge_dicts

if TYPE_CHECKING:  # settings import this module; keep it free of Django imports at run time
    from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_SHARE_TOKEN = re.compile(r"^(/s/[^/]{4})[^/]+")  # apps/sharing's links (its urls.py)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_context: ContextVar[dict[str, Any] | None] = ContextVar("photosite_log_context", default=None)
access_logger = logging.getLogger("photosite.access")


def current_request_id() -> str | None:
    context = _context.get()
    return context.get("http.request.id") if context else None


class ContextFilter(logging.Filter):
    """Copies the current request's (or job's) fields onto every record, in ECS names."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        if context:
            for key, value in context.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


class RequestIdMiddleware:
    """First in MIDDLEWARE: ids the request, logs one access line with status and duration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        # For views and debuggers; HttpRequest has no such attribute of its own.
        request.request_id = request_id  # type: ignore[attr-defined]
        context = {
            "http.request.id": request_id,
            "http.request.method": request.method,
            "url.path": logged_path(request.path),
        }
        token = _context.set(context)
        sentry_sdk.set_tag("request_id", request_id)  # a no-op unless SENTRY_DSN is set
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                context["user.id"] = user.pk
            response[REQUEST_ID_HEADER] = request_id
            log_access(request, response.status_code, time.perf_counter() - started)
            return response
        finally:
            _context.reset(token)


def logged_path(path: str) -> str:
    """The path as logs keep it: a share link's token (`/s/<token>/`) is a working key to a
    private photo, so only its first four characters are written, enough to tell links apart."""
    return _SHARE_TOKEN.sub(r"\1…", path)


def request_id_for(request: HttpRequest) -> str:
    """The id nginx (or the load balancer) gave the request, when it looks sane, or a new one."""
    offered: str = request.META.get("HTTP_X_REQUEST_ID", "")
    if offered and _SANE_ID.match(offered):
        return offered
    # uuid.uuid4().hex without building a UUID object (7% of a kept page's hit, profiled): 122 random
    # bits with the version and variant bits set as RFC 9562 has them.
    made = bytearray(os.urandom(16))
    made[6] = made[6] & 0x0F | 0x40
    made[8] = made[8] & 0x3F | 0x80
    return made.hex()


def log_access(request: HttpRequest, status: int, elapsed: float, *, request_id: str | None = None) -> None:
    """The access line. `request_id`: for a request answered outside RequestIdMiddleware (a
    page kept for visitors, photosite/pagecache.py), whose context fields are not set."""
    if not access_logger.isEnabledFor(logging.INFO):
        return
    extra: dict[str, Any] = {"http.response.status_code": status, "event.duration": int(elapsed * 1e9)}
    path = logged_path(request.path)
    if request_id is not None:
        extra.update({"http.request.id": request_id, "http.request.method": request.method, "url.path": path})
    # The record access_logger.info() would make, without its walk up the stack to find this very
    # line (logging's findCaller): a hit's whole answer costs little more than its access line.
    record = access_logger.makeRecord(
        access_logger.name,
        logging.INFO,
        __file__,
        sys._getframe().f_lineno,
        "%s %s %s %.1fms",
        (request.method, path, status, elapsed * 1000),
        None,
        "log_access",
        extra,
    )
    access_logger.handle(record)


class RequestIdInJobs(DramatiqMiddleware):
    """Dramatiq middleware: the sender's request id rides in the message and tags the job's lines."""

    def before_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        request_id = current_request_id()
        if request_id and "request_id" not in message.options:
            message.options["request_id"] = request_id

    def before_process_message(self, broker: Any, message: Any) -> None:
        context: dict[str, Any] = {"labels.job": message.actor_name, "labels.message_id": message.message_id}
        if message.options.get("request_id"):
            context["http.request.id"] = message.options["request_id"]
            sentry_sdk.set_tag("request_id", message.options["request_id"])
        message.options["_log_token"] = _context.set(context)

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None, exception: Any = None) -> None:
        token = message.options.pop("_log_token", None)
        if token is not None:
            _context.reset(token)

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self.after_process_message(broker, message)


class EcsFormatter(StdlibFormatter):
    """ecs-logging's JSON lines, the same to the byte, made in a fifth of the time for an ordinary
    record: ecs-logging builds its fixed fields one dotted name at a time (split, nest, deep-merge),
    most of an access line's cost under LOG_FORMAT=json. A record with an exception or stack, or a
    formatter configured with extra or excluded fields, is made by ecs-logging itself."""

    def format_to_ecs(self, record: logging.LogRecord) -> dict[str, Any]:
        if record.exc_info or record.stack_info or self._extra is not None or self._exclude_fields:
            return super().format_to_ecs(record)
        message = record.getMessage()
        file = _present(line=record.lineno, name=record.filename)
        origin = _present(function=record.funcName, file=file or None)
        log = _present(
            level=record.levelname.lower() if record.levelname else None,
            origin=origin or None,
            original=message,
            logger=record.name,
        )
        thread = _present(id=record.thread, name=record.threadName)
        process = _present(pid=record.process, name=record.processName, thread=thread or None)
        result: dict[str, Any] = {"@timestamp": self._record_timestamp(record), "ecs.version": ECS_VERSION, "log": log}
        if process:
            result["process"] = process
        # From here as ecs-logging does it: the fields given as `extra` (few), with its checks.
        available = record.__dict__
        available["message"] = message
        extras = flatten_dict({key: available[key] for key in set(available).difference(self._LOGRECORD_DICT)})
        extras.setdefault("span.id", extras.pop("elasticapm_span_id", None))
        extras.setdefault("transaction.id", extras.pop("elasticapm_transaction_id", None))
        extras.setdefault("trace.id", extras.pop("elasticapm_trace_id", None))
        extras.setdefault("service.name", extras.pop("elasticapm_service_name", None))
        extras.setdefault("service.environment", extras.pop("elasticapm_service_environment", None))
        for field, value in extras.items():
            if value is None or field.startswith("elasticapm_labels."):
                continue
            _put(result, field, value)
        result.setdefault("message", message)
        return result


def _put(result: dict[str, Any], field: str, value: Any) -> None:
    """merge_dicts(de_dot(field, value), result) for a value that is no mapping (flatten_dict saw
    to that): nested at once where the place is free, by ecs-logging where it is taken (it merges
    an empty placeholder and raises on a real clash, as before)."""
    *parents, last = field.split(".")
    node = result
    for name in parents:
        node = node.setdefault(name, {})
        if not isinstance(node, dict):
            break
    else:
        if last not in node:
            node[last] = value
            return
    merge_dicts(de_dot(field, value), result)


def _present(**fields: Any) -> dict[str, Any]:
    """The fields that have a value: ecs-logging leaves out a None."""
    return {name: value for name, value in fields.items() if value is not None}


def logging_config(*, json: bool, level: str) -> dict[str, Any]:
    """The LOGGING setting: ECS JSON lines, or readable console lines with the request id."""
    formatter = (
        {"()": "photosite.requestlog.EcsFormatter"}
        if json
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    filters = {"context": {"()": "photosite.requestlog.ContextFilter"}}
    if not json:
        filters["request_id_default"] = {"()": "photosite.requestlog.ConsoleRequestId"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": filters,
        "formatters": {"main": formatter},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "main", "filters": list(filters)},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # Our access line replaces Django's per-request warning for 4xx (it says more).
            "django.request": {"level": "ERROR"},
        },
    }


def dramatiq_main(*, level: str) -> None:
    """The dramatiq CLI with ECS JSON logging set up first (`manage.py rundramatiq` execs it).

    dramatiq's main process never loads Django and would log in its own plain format;
    with the root logger already configured, its `logging.basicConfig` does nothing. The
    worker processes it forks configure logging again from Django's LOGGING.
    """
    import logging.config
    import sys

    from dramatiq.cli import main

    logging.config.dictConfig(logging_config(json=True, level=level))
    sys.exit(main())


class ConsoleRequestId(logging.Filter):
    """For console lines: `request_id` is always there, `-` outside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "http.request.id", "-")
        return True

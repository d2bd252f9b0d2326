"""gunicorn settings, overridable by the usual GUNICORN_CMD_ARGS or these variables."""

import gc
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Uploads are bounded by PHOTO_MAX_UPLOAD_BYTES; allow a slow phone connection to finish.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# A worker is replaced after this many requests (a leak's bound), at a point drawn anew for each
# worker over a range as wide as the period: with a narrow jitter the workers of one container,
# serving equal shares, reached it together, and while both imported the site again (1-2 s)
# nothing answered: the 1.3-1.6 s p99 of bench/cache.py's kept pages (docs/PERFORMANCE.md).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", str(max_requests)))
wsgi_app = "photosite.wsgi:application"
# The master imports the site once and forks its workers from it: a worker replaced after
# max_requests is a fork (milliseconds), not a new import of Django and every app (about a
# second, while the other workers answer alone). Nothing the site starts or opens may then
# be shared: threads start lazily in the process that uses them (the replica monitor, the
# embedded worker, the object-store savers), and the master closes what loading opened
# before its first fork (when_ready below); redis-py's pools reopen by pid by themselves.
preload_app = True
# gunicorn 25+ opens a control socket at one fixed path per user (~/.gunicorn/gunicorn.ctl):
# every gunicorn on a host (two web processes in make stack, two test runs) would unlink and
# rebind the same file. Nothing here uses gunicornc; signals and the orchestrator manage workers.
control_socket_disable = True

if os.environ.get("LOG_FORMAT") == "json":
    # Every line on stdout is one ECS object for Filebeat: the site logs its own access
    # lines (with request id and user), so gunicorn's plain access log is off.
    accesslog = None
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ecs": {"()": "ecs_logging.StdlibFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "ecs", "stream": "ext://sys.stdout"}},
        "loggers": {"gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False}},
    }
else:
    accesslog = "-"


def when_ready(server: object) -> None:
    """In the master, after the site was loaded and before any worker is forked: close every
    connection the import opened, so no worker inherits a socket another process also uses, and
    freeze what was loaded out of the garbage collector's reach."""
    if preload_app:
        # Imported here: gunicorn reads this file before it loads the site (wsgi_app above).
        from photosite.wsgi import process_connections_close, site_import

        site_import()
        process_connections_close()
        # Everything loaded so far lives as long as the workers: out of the garbage collector's
        # reach (gc.freeze), a worker's first full collection does not walk, and so copy, the
        # whole inherited heap, which held each new worker's queue for a quarter of a second.
        gc.freeze()

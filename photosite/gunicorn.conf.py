"""gunicorn settings, overridable by the usual GUNICORN_CMD_ARGS or these variables."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Uploads are bounded by PHOTO_MAX_UPLOAD_BYTES; allow a slow phone connection to finish.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = "-"
wsgi_app = "photosite.wsgi:application"

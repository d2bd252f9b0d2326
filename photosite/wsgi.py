"""The WSGI application gunicorn serves: visitors' kept pages answered ahead of Django.

A kept page's hit (photosite/pagecache.py) needs none of Django's handler: no WSGIRequest,
no request_started/finished signals, no middleware. `VisitorPages` computes the page key
from the environ with the same function the middleware uses (the same host check against
ALLOWED_HOSTS, the same language choice, the same refusal of malformed requests, cookies
and credentials), makes the one Redis round trip, and answers a hit with the headers,
request id, access line and hit count the middleware would give it. Everything else, a
miss included, goes to Django unchanged; the environ then says the lookup was made, so
the middleware renders and keeps the page without looking it up again.
"""

import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosite.settings")

logger = logging.getLogger(__name__)
WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class VisitorPages:
    """Answers a visitor's kept page itself, hands every other request to `django`."""

    def __init__(self, django: WSGIApplication) -> None:
        # Imported here: they read settings and models, which get_wsgi_application() sets up first.
        from photosite import pagecache, purge

        self.django = django
        self.pagecache = pagecache
        self.edge_generation_path = purge.EDGE_GENERATION_PATH

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        pagecache = self.pagecache
        if not pagecache.page_cache_enabled():
            return self.django(environ, start_response)
        started = time.perf_counter()
        try:
            visitor = pagecache.Visitor(environ)
            key = None if visitor.path == self.edge_generation_path else pagecache.page_key_for(visitor)
        except Exception:  # whatever Django makes of this request, it answers or reports
            return self.django(environ, start_response)
        if key is not None:
            gzipped = pagecache.accepts_gzip(environ)
            found = pagecache.page_lookup(key, gzipped=gzipped)
            if found is not None:
                try:
                    status, headers, body = pagecache.hit_answer(visitor, found, gzipped=gzipped, started=started)
                except Exception:  # a bug here must not be a bare 500 Sentry never sees: Django renders it
                    logger.exception("kept page not answered, rendered instead")
                    return self.django(environ, start_response)
                pagecache.page_cache_count("hit")
                start_response(pagecache.STATUS_LINES[status], headers)
                return [body]
        environ[pagecache.LOOKED_UP] = key
        return self.django(environ, start_response)


application = VisitorPages(get_wsgi_application())


def site_import() -> None:
    """Import every view, form and serializer the URLconf names (Django does it on the first
    request): in gunicorn's master, so each forked worker starts with them loaded."""
    from django.urls import get_resolver

    get_resolver().check()  # walks every pattern, which imports its view module


def process_connections_close() -> None:
    """Close the connections this process opened that a forked child would otherwise share
    (gunicorn's master after loading the site, before it forks workers: gunicorn.conf.py).
    Django's database connections know nothing of forks; redis-py's pools (the cache, a Redis
    broker) drop a parent's connections by pid by themselves; a RabbitMQ broker's are per
    thread, and the master's main thread would hand them to every worker."""
    import dramatiq
    from django.db import connections

    connections.close_all()
    broker = dramatiq.get_broker()
    if getattr(broker, "connections", None):
        broker.close()

"""Throttles are counted in Redis, so two separate web processes share one limit per client,
and the client is told apart by the address the load balancer saw (NUM_PROXIES)."""

from __future__ import annotations

import requests


def test_two_web_processes_share_the_anonymous_limit_per_client_address(site_server_factory) -> None:
    settings = {"API_THROTTLE_ANON": "4/min", "NUM_PROXIES": "1"}
    first, second = site_server_factory(**settings), site_server_factory(**settings)
    client = {"X-Forwarded-For": "203.0.113.7"}

    def get(server, headers) -> requests.Response:
        # A search: public lists kept whole for visitors are answered by the page cache, before
        # any throttle, as the HTML pages are (photosite/pagecache.py).
        return requests.get(server.url + "/api/v1/photos/?q=harbour", headers=headers, timeout=10)

    assert [get(server, client).status_code for server in (first, second, first, second)] == [200] * 4
    refused = get(second, client)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.json()["error"]["status"] == 429 and "throttled" in refused.json()["error"]["message"].lower()
    assert get(first, client).status_code == 429  # the other process knows too
    # Another client behind the same load balancer has its own allowance.
    assert get(first, {"X-Forwarded-For": "203.0.113.8"}).status_code == 200
    # With one proxy configured, only the address that proxy appended counts: a client
    # cannot dodge the limit by prepending addresses of its own.
    assert get(second, {"X-Forwarded-For": "10.9.9.9, 203.0.113.7"}).status_code == 429

"""The dashboard's Hosts panel against a real Prometheus scraping a real node exporter.

Debian's `prometheus` and `prometheus-node-exporter` (compose/local/ensure-services.sh
installs them) run on free loopback ports for the test; a second target where nothing
listens stands for a host that went down.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from compose.local.services.net import free_port, free_ports, wait_until_healthy
from tests.browser import CHROMIUM_ARGS
from tests.conftest import SiteServer, staff_login, wait_for
from tests.factories import UserFactory


@dataclass(frozen=True)
class PrometheusWithExporter:
    url: str
    live_target: str
    dead_target: str


def _query(url: str, expression: str) -> list[dict[str, Any]]:
    address = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expression})}"
    with urllib.request.urlopen(address, timeout=5) as response:  # noqa: S310 (our own http:// address)
        rows: list[dict[str, Any]] = json.load(response)["data"]["result"]
    return rows


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusWithExporter]:
    """Prometheus scraping a node exporter and a dead target every second, once it has rates for both."""
    tmp_path = tmp_path_factory.mktemp("prometheus")
    exporter_port, dead_port, prometheus_port = free_ports(3)
    live, dead = f"127.0.0.1:{exporter_port}", f"127.0.0.1:{dead_port}"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: node\n"
        f'    static_configs: [{{targets: ["{live}", "{dead}"]}}]\n'
    )
    processes = []
    try:
        processes.append(
            subprocess.Popen(
                ["prometheus-node-exporter", f"--web.listen-address={live}", "--no-collector.systemd"],
                stdout=(tmp_path / "node-exporter.log").open("ab"),
                stderr=subprocess.STDOUT,
            )
        )
        wait_until_healthy(f"http://{live}/metrics", process=processes[-1], timeout=60)
        url = f"http://127.0.0.1:{prometheus_port}"
        processes.append(
            subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{prometheus_port}",
                ],
                stdout=(tmp_path / "prometheus.log").open("ab"),
                stderr=subprocess.STDOUT,
            )
        )
        wait_until_healthy(f"{url}/-/ready", process=processes[-1], timeout=120)
        # A rate needs two scrapes of the live exporter; the dead target needs one failed scrape.
        wait_for(
            lambda: (
                len(_query(url, 'rate(node_cpu_seconds_total{job="node",mode="idle"}[1m])')) > 0
                and {row["metric"]["instance"]: row["value"][1] for row in _query(url, 'up{job="node"}')}
                == {live: "1", dead: "0"}
            ),
            timeout=180,
            what="Prometheus to have scraped both targets",
        )
        yield PrometheusWithExporter(url=url, live_target=live, dead_target=dead)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _host_cells(page: str, instance: str) -> list[str]:
    row = re.search(rf'<tr data-host="{re.escape(instance)}">(.*?)</tr>', page, re.DOTALL)
    assert row, f"no row for {instance} in the Hosts panel"
    return [re.sub(r"<[^>]+>", " ", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row[1], re.DOTALL)]


def _percent(cell: str) -> float:
    match = re.fullmatch(r"(\d+) %", cell)
    assert match, cell
    return float(match[1])


def _memory_used_percent() -> float:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    available, total = (int(meminfo[name].split()[0]) for name in ("MemAvailable", "MemTotal"))
    return 100 * (1 - available / total)


def test_hosts_panel_shows_the_live_host_figures_and_the_dead_one_down(
    client, db, settings, prometheus: PrometheusWithExporter
) -> None:
    settings.PROMETHEUS_URL = prometheus.url
    staff_login(client, UserFactory(is_staff=True))
    response = client.get(reverse("ops_dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hosts · 1 of 2 up" in page

    name, state, cpu, memory, root, disk_io, load = _host_cells(page, prometheus.live_target)
    assert (name, state) == (prometheus.live_target, "up")
    assert 0 <= _percent(cpu) <= 100
    # The same machine seen directly: Prometheus's figures are this host's, a few seconds old.
    assert abs(_percent(memory) - _memory_used_percent()) < 15, (memory, _memory_used_percent())
    disk = shutil.disk_usage("/")
    # As the alert rules count it: what an unprivileged writer may still use, of the whole size.
    assert abs(_percent(root) - 100 * (1 - disk.free / disk.total)) < 5, root
    assert re.fullmatch(r"[\d.]+\s\w+/s read\s+[\d.]+\s\w+/s written", disk_io), disk_io
    load_match = re.fullmatch(r"([\d.]+)\s+/ (\d+) CPUs?", load)
    assert load_match, load
    assert float(load_match[1]) >= 0 and int(load_match[2]) == os.cpu_count()

    name, state, reason = _host_cells(page, prometheus.dead_target)
    assert (name, state) == (prometheus.dead_target, "down") and "does not answer" in reason
    assert page.index(prometheus.dead_target) < page.index(prometheus.live_target)  # down hosts first

    partial = client.get(reverse("ops_dashboard") + "?partial=1").content.decode()
    assert "Hosts · 1 of 2 up" in partial and f'data-host="{prometheus.live_target}"' in partial


def test_hosts_panel_fits_a_phone_and_survives_the_refresh(
    client, site_server_factory: Callable[..., SiteServer], prometheus: PrometheusWithExporter
) -> None:
    """At 390 px the page does not scroll sideways (a wide table scrolls in its card), and the
    panel is still there after the dashboard's script swapped in a fresh body."""
    from playwright.sync_api import expect, sync_playwright

    server = site_server_factory(PROMETHEUS_URL=prometheus.url)
    # Before Playwright starts: Django refuses database work while its event loop runs here.
    staff_login(client, UserFactory(is_staff=True))
    session = client.cookies["sessionid"].value  # in the database and Redis gunicorn uses too
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or shutil.which("chromium-browser"), args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844})
            context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(server.url + "/ops/")
            page.wait_for_selector(f'tr[data-host="{prometheus.live_target}"]')
            first_update = page.inner_text(".ops-updated")
            page.wait_for_function(
                "text => document.querySelector('.ops-updated').innerText !== text", arg=first_update, timeout=120_000
            )
            expect(page.locator(f'tr[data-host="{prometheus.dead_target}"] .state-down')).to_have_count(1)
            expect(page.locator(f'tr[data-host="{prometheus.live_target}"] .state-up')).to_have_count(1)
            widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"the page scrolls sideways at 390 px: {widths}"
        finally:
            browser.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers: a hung Prometheus."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("where", ["closed port", "server that never answers"])
def test_dashboard_still_renders_when_prometheus_is_unreachable(client, db, settings, where, request) -> None:
    settings.PROMETHEUS_URL = (
        f"http://127.0.0.1:{free_port()}" if where == "closed port" else request.getfixturevalue("silent_server")
    )
    staff_login(client, UserFactory(is_staff=True))
    response = client.get(reverse("ops_dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Prometheus unreachable" in page and "Uploads per day" in page and "Job queues" in page


def test_without_prometheus_the_panel_says_how_to_enable_it(client, db, settings) -> None:
    settings.PROMETHEUS_URL = ""
    staff_login(client, UserFactory(is_staff=True))
    page = client.get(reverse("ops_dashboard")).content.decode()
    assert "Set <code>PROMETHEUS_URL</code>" in page and "Prometheus unreachable" not in page

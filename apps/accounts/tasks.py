"""Dramatiq actors for accounts, on the maintenance queue (apart from the renditions people
wait for). Each takes ids, calls a service, and is safe to run twice."""

from __future__ import annotations

from typing import Any

import dramatiq

from apps.accounts import services
from photosite.scheduler import periodic

MAINTENANCE = "maintenance"


@dramatiq.actor(
    queue_name=MAINTENANCE,
    max_retries=5,
    min_backoff=10_000,
    max_backoff=600_000,
    time_limit=6 * 60 * 60 * 1000,  # 10,000 originals over a slow link take a while
    on_retry_exhausted="data_export_gave_up",
)
def build_data_export(export_id: int) -> None:
    services.data_export_build(export_id=export_id)


@dramatiq.actor(queue_name=MAINTENANCE, max_retries=0)
def data_export_gave_up(message_data: dict[str, Any], retry_info: dict[str, Any]) -> None:
    (export_id,) = message_data["args"]
    services.data_export_mark_failed(
        export_id=export_id, reason="We could not build your export after several tries. Please ask again."
    )


@periodic("23 * * * *")
@dramatiq.actor(queue_name=MAINTENANCE, max_retries=0)
def accounts_sweep() -> None:
    """Hourly: expired exports and stray zips go; retired user names past their cooling-off return."""
    services.data_exports_sweep()
    services.retired_usernames_release()

"""The periodic-job scheduler (photosite/scheduler.py, dramatiq-crontab): however many run,
one sends each tick, and a standby takes over when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, subprocess_env_for_test_database, wait_for

STARTED = "Starting scheduler"


class Scheduler:
    """compose/production/django/start-scheduler, as each host runs it."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        env = {
            **subprocess_env_for_test_database(),
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        }
        self.process = subprocess.Popen(
            ["bash", "compose/production/django/start-scheduler"],
            cwd=ROOT,
            env=env,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, number: int) -> None:
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass


def test_one_of_two_schedulers_sends_and_the_other_takes_over_when_it_dies(
    transactional_db, broker_redis, tmp_path
) -> None:
    schedulers = [Scheduler(tmp_path / f"scheduler{index}.log") for index in (1, 2)]
    try:
        wait_for(
            lambda: sum(STARTED in scheduler.log() for scheduler in schedulers) == 1,
            timeout=60,
            what="one scheduler to take the lock",
        )
        (leader,) = [scheduler for scheduler in schedulers if STARTED in scheduler.log()]
        (standby,) = [scheduler for scheduler in schedulers if scheduler is not leader]
        assert broker_redis.exists("dramatiq-scheduler"), "the lock lives in the broker's Redis"
        wait_for(
            lambda: "Another scheduler is already running" in standby.log(), timeout=40, what="the standby to wait"
        )
        assert STARTED not in standby.log(), "two schedulers would send every job twice"

        leader.signal(signal.SIGKILL)  # a lost host: its lock is not released, it lapses
        killed_at = time.monotonic()
        wait_for(lambda: STARTED in standby.log(), timeout=60, what=f"the standby to take over:\n{standby.log()}")
        assert time.monotonic() - killed_at < 45
    finally:
        for scheduler in schedulers:
            scheduler.signal(signal.SIGTERM)
        for scheduler in schedulers:
            try:
                scheduler.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                scheduler.signal(signal.SIGKILL)


def test_the_reaper_runs_every_minute_and_the_sweeps_daily() -> None:
    from dramatiq_crontab import scheduler

    import apps.ops.tasks
    import apps.photos.tasks  # registers its schedules too

    schedules = {job.name: str(job.trigger) for job in scheduler.get_jobs()}
    assert "minute='*'" in schedules["requeue_stuck_photos"] and "hour='*'" in schedules["requeue_stuck_photos"]
    assert "hour='3'" in schedules["sweep_storage"]
    assert "hour='4'" in schedules["clear_expired_sessions"]
    assert apps.ops.tasks.clear_expired_sessions.queue_name == apps.photos.tasks.MAINTENANCE_QUEUE

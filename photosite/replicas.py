"""Replica health: which read replicas may serve reads, judged by one background thread
per process (photosite/db.py routes by its verdicts).

- The thread checks each replica every DATABASE_REPLICA_CHECK_SECONDS (one out of
  rotation every second) on connections of its own that it keeps open; requests only
  read verdicts, so a check never costs a request a connection or a wait.
- A replica is out when it refuses or times out, is not a standby, has no streaming
  WAL receiver, or is more than DATABASE_REPLICA_MAX_LAG_SECONDS behind the primary,
  measured against the primary's own WAL position.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, LiteralString

import psycopg
from django.conf import settings
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections
from django.dispatch import receiver

logger = logging.getLogger("photosite.db")  # one logger for routing and health: operators grep one name

# The replica's own view: a standby? its WAL receiver running, and in what state (NULL to
# a role without pg_read_all_stats, which still sees whether the row exists)? How far
# has it received and replayed? Positions as byte offsets, so Python compares them.
REPLICA_QUERY = """
SELECT pg_is_in_recovery(),
       (SELECT count(*) FROM pg_stat_wal_receiver),
       (SELECT status FROM pg_stat_wal_receiver),
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint,
       pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint
"""
# How far the primary has written its WAL: what a replica in step has received and replayed.
PRIMARY_QUERY = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, current_setting('wal_block_size')::int"
# The primary writes finished WAL pages in the background but a record still being
# completed only with the rest of it (a commit always in full), so while it is quiet its
# write position can stop on a page boundary inside a record no replica can replay yet.
# A replica that has received everything up to such a boundary and replayed all but the
# last this many bytes is in step.
INCOMPLETE_RECORD_BYTES = 64 * 1024


@dataclass
class ReplicaState:
    alias: str
    healthy: bool = False
    lag_seconds: float | None = None
    reason: str = "not checked yet"
    checked_at: float = float("-inf")  # time.monotonic()
    check_ms: float | None = None
    replayed: int | None = None  # WAL position replayed at the check, as a byte offset


@dataclass
class PrimaryPositions:
    """When this process first saw the primary's WAL reach each position.

    A replica that has not replayed a position the primary reached at time t is missing
    whatever was committed up to then, so it is at least now - t behind. This holds when
    the replica's own figures cannot tell: a WAL receiver that is cut off or hung receives
    nothing, so everything it received is also replayed.
    """

    seen: deque[tuple[float, int]] = field(default_factory=deque)  # (time.monotonic(), position)
    block_size: int = 8192
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, position: int, block_size: int, *, keep_seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            self.block_size = block_size
            if not self.seen or position > self.seen[-1][1]:
                self.seen.append((now, position))
            # Forget old positions, keeping the newest of them: a replica that has not
            # reached even that stays at least keep_seconds behind.
            while len(self.seen) > 1 and self.seen[1][0] < now - keep_seconds:
                self.seen.popleft()

    def seconds_behind(self, *, received: int, replayed: int) -> float:
        now = time.monotonic()
        with self._lock:
            for seen_at, position in self.seen:
                in_step = replayed >= position or (
                    position % self.block_size == 0
                    and received >= position
                    and position - replayed <= INCOMPLETE_RECORD_BYTES
                )
                if not in_step:
                    return now - seen_at
        return 0.0

    def forget(self) -> None:
        with self._lock:
            self.seen.clear()


# A replica out of rotation is checked this often whatever DATABASE_REPLICA_CHECK_SECONDS
# says, so a restarted one serves again within about a second.
DOWN_RECHECK_SECONDS = 1.0
# How long the first read of a process waits for the first verdict on a replica (a check
# on loopback or a LAN takes milliseconds); after that it reads from the primary.
FIRST_VERDICT_WAIT_SECONDS = 0.5
_TICK_SECONDS = 0.1


@dataclass
class ReplicaMonitor:
    """Per-process view of which replicas may serve reads, kept by one background thread.

    Request threads only read verdicts, so a check never costs a request a connection or
    a wait. The thread checks each replica every DATABASE_REPLICA_CHECK_SECONDS (one out
    of rotation every DOWN_RECHECK_SECONDS), on connections of its own that it keeps open.
    A verdict that grows old (the thread is stuck on a server that stopped answering)
    counts as down, so the site reads from the primary rather than trust it.
    """

    states: dict[str, ReplicaState] = field(default_factory=dict)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    primary: PrimaryPositions = field(default_factory=PrimaryPositions)
    _turn: Iterator[int] = field(default_factory=itertools.count)
    _changed: threading.Condition = field(default_factory=threading.Condition)  # a verdict recorded
    _wake: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _thread_pid: int = 0
    _resets_asked: int = 0
    _resets_done: int = 0

    def pick(self, *, replayed_at_least: int | None = None) -> str | None:
        """A healthy replica, in turn; with `replayed_at_least`, only one that had replayed
        the WAL that far at its last check (a writer's own write), else None."""
        usable = []
        for alias in settings.DATABASE_REPLICAS:
            state = self.state(alias)
            if state.healthy and (replayed_at_least is None or (state.replayed or 0) >= replayed_at_least):
                usable.append(alias)
        if not usable:
            return None
        return usable[next(self._turn) % len(usable)]

    def state(self, alias: str) -> ReplicaState:
        self._ensure_running()
        current = self.states.get(alias)
        if current is None:
            self._wake.set()
            with self._changed:
                self._changed.wait_for(lambda: alias in self.states, timeout=FIRST_VERDICT_WAIT_SECONDS)
            current = self.states.get(alias)
            if current is None:
                return ReplicaState(alias, reason="not checked yet")
        age = time.monotonic() - current.checked_at
        if age > self._verdict_lifetime():
            return replace(current, healthy=False, reason=f"no check for {age:.0f}s (last: {current.reason})")
        return current

    def mark_down(self, alias: str, reason: str) -> None:
        self._record(ReplicaState(alias, healthy=False, reason=reason, checked_at=time.monotonic()))

    def forget(self) -> None:
        """Check every replica afresh, on new connections (tests; a configuration change)."""
        with self._changed:
            self.states.clear()
            self.primary.forget()
            self._resets_asked += 1
            asked = self._resets_asked
        thread = self._thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            return
        self._wake.set()
        with self._changed:  # until the thread has closed its connections (a test database is dropped next)
            self._changed.wait_for(lambda: self._resets_done >= asked, timeout=5)

    def _verdict_lifetime(self) -> float:
        check = max(settings.DATABASE_REPLICA_CHECK_SECONDS, DOWN_RECHECK_SECONDS)
        return 3 * check + 4 * max(2.0, settings.DATABASE_REPLICA_CONNECT_TIMEOUT) + 5

    def _ensure_running(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive() and self._thread_pid == os.getpid():
            return
        with self._changed:
            if self._thread is not None and self._thread.is_alive() and self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()  # a forked child (a gunicorn worker) starts its own
            self._thread = threading.Thread(target=self._run, name="photosite replica monitor", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        checker = _ReplicaChecker(self.primary)
        try:
            while self._thread_pid == os.getpid():
                try:
                    self._check_due(checker)
                except Exception:  # the thread must outlive any surprise; requests fall back on stale verdicts
                    logger.exception("replica monitor round failed")
                    checker.close()
                self._wake.wait(_TICK_SECONDS)
                self._wake.clear()
        finally:
            checker.close()

    def _check_due(self, checker: _ReplicaChecker) -> None:
        with self._changed:
            if self._resets_done != self._resets_asked:
                checker.close()
                self._resets_done = self._resets_asked
                self._changed.notify_all()
        aliases = list(settings.DATABASE_REPLICAS)
        checker.keep_only(aliases)
        now = time.monotonic()
        due = []
        for alias in aliases:
            current = self.states.get(alias)
            interval = settings.DATABASE_REPLICA_CHECK_SECONDS
            if current is None or not current.healthy:
                interval = min(interval, DOWN_RECHECK_SECONDS)
            if current is None or now - current.checked_at >= interval:
                due.append(alias)
        if not due:
            return
        checker.sample_primary()
        for alias in due:
            self._record(checker.check(alias))

    def _record(self, new: ReplicaState) -> None:
        with self._changed:
            old = self.states.get(new.alias)
            self.states[new.alias] = new
            changed = old is None or old.healthy != new.healthy
            if changed:
                event = "joined" if new.healthy else "left"
                self.transitions[(new.alias, event)] += 1
            self._changed.notify_all()
        if not changed:
            return
        log = logger.info if new.healthy else logger.warning
        log(
            "replica %s %s the read rotation: %s",
            new.alias,
            event,
            new.reason,
            extra={"replica": new.alias, "replica_event": event, "replica_lag_seconds": new.lag_seconds},
        )
        if new.healthy and old is not None:
            _pool_renew(new.alias)


class _ReplicaChecker:
    """The monitor thread's connections and checks; used by that thread alone."""

    def __init__(self, primary: PrimaryPositions) -> None:
        self.primary = primary
        self.held: dict[str, psycopg.Connection[Any]] = {}

    def close(self) -> None:
        for alias in list(self.held):
            self._drop(alias)

    def keep_only(self, aliases: list[str]) -> None:
        wanted = set(aliases) | ({DEFAULT_DB_ALIAS} if aliases else set())
        for alias in set(self.held) - wanted:
            self._drop(alias)

    def query(self, alias: str, sql: LiteralString) -> tuple[Any, ...]:
        """One row, on the connection kept for `alias`. A kept connection that fails is
        replaced once: after a restart it is broken though the server is back."""
        kept = self.held.get(alias)
        if kept is not None and not kept.closed:
            try:
                return _one_row(kept, sql)
            except psycopg.Error:
                self._drop(alias)
        connection = self.held[alias] = _probe_connect(alias)
        try:
            return _one_row(connection, sql)
        except psycopg.Error:
            self._drop(alias)
            raise

    def _drop(self, alias: str) -> None:
        connection = self.held.pop(alias, None)
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def sample_primary(self) -> None:
        try:
            position, block_size = self.query(DEFAULT_DB_ALIAS, PRIMARY_QUERY)
        except psycopg.Error as error:
            # Without the primary's position the replicas are judged by their own figures.
            logger.warning("replica check could not read the primary's WAL position: %s", first_line(error))
            return
        keep = settings.DATABASE_REPLICA_MAX_LAG_SECONDS * 2 + 60
        self.primary.record(int(position), int(block_size), keep_seconds=keep)

    def check(self, alias: str) -> ReplicaState:
        started = time.monotonic()
        try:
            in_recovery, receivers, receiver_status, received, replayed = self.query(alias, REPLICA_QUERY)
        except psycopg.Error as error:
            return ReplicaState(alias, False, reason=f"unreachable: {first_line(error)}", checked_at=time.monotonic())
        elapsed_ms = (time.monotonic() - started) * 1000

        def down(reason: str, lag: float | None = None) -> ReplicaState:
            return ReplicaState(alias, False, lag, reason, time.monotonic(), elapsed_ms, replayed)

        if not in_recovery:
            return down("not a standby (promoted, or the URL names a primary)")
        if not receivers:
            return down("WAL receiver not running: cut off from the primary")
        if receiver_status is not None and receiver_status != "streaming":
            return down(f"WAL receiver {receiver_status}, not streaming from the primary")
        lag = self.primary.seconds_behind(received=received or 0, replayed=replayed or 0)
        if lag > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
            return down(
                f"lagging {lag:.1f}s behind the primary (limit {settings.DATABASE_REPLICA_MAX_LAG_SECONDS:g}s)", lag
            )
        return ReplicaState(alias, True, lag, "ok", time.monotonic(), elapsed_ms, replayed)


def _pool_renew(alias: str) -> None:
    """Give a replica that is back a fresh psycopg pool (Django opens one on next use).

    While the replica was down the old pool kept retrying with growing pauses, and a
    request would wait for its next try instead of connecting at once.
    """
    if not connections.settings[alias].get("OPTIONS", {}).get("pool"):
        return
    close_pool = getattr(connections[alias], "close_pool", None)  # PostgreSQL's wrapper has it
    try:
        if close_pool is not None:
            close_pool()
    except Exception as error:  # a pool that will not close is replaced all the same
        logger.warning("could not renew the connection pool of %s: %s", alias, first_line(error))


monitor = ReplicaMonitor()


@receiver(setting_changed)
def _replicas_reconfigured(*, setting: str, **kwargs: Any) -> None:
    # Tests switch replicas on and off: check afresh, and let go of connections to the
    # test database before it is dropped. (A changed limit or interval applies at the
    # next check without forgetting what was seen.)
    if setting == "DATABASE_REPLICAS":
        monitor.forget()


def first_line(error: BaseException) -> str:
    """An error's first line: what logs and /readyz show of it."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _probe_connect(alias: str) -> psycopg.Connection[Any]:
    """A connection of the health checks' own, with short timeouts, to `alias`'s server."""
    params = connections.settings[alias]
    timeout_ms = int(settings.DATABASE_REPLICA_CONNECT_TIMEOUT * 1000)
    return psycopg.connect(
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        dbname=params["NAME"],
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        connect_timeout=max(1, int(settings.DATABASE_REPLICA_CONNECT_TIMEOUT)),  # libpq waits 2 s at least
        # A server that accepts the connection but never answers must not hold the check.
        options=f"-c statement_timeout={timeout_ms}",
        application_name="photosite replica check",
        autocommit=True,
    )


def _one_row(connection: psycopg.Connection[Any], sql: LiteralString) -> tuple[Any, ...]:
    row = connection.execute(sql).fetchone()
    if row is None:
        raise psycopg.ProgrammingError(f"no row from {sql!r}")
    return tuple(row)

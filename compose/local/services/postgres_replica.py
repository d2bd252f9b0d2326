"""Build and run a real streaming replica of a local PostgreSQL (tests and `make stack`).

pg_basebackup copies the primary into a fresh data directory with standby.signal,
and the copy is started on its own loopback port. The primary must allow
replication connections from 127.0.0.1 (compose/local/ensure-services.sh adds
the pg_hba.conf line on this machine kind).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString

import psycopg


def _scalar(connection: psycopg.Connection[Any], query: LiteralString) -> Any:
    """The one value a one-row, one-column query answers."""
    row = connection.execute(query).fetchone()
    if row is None:
        raise LookupError(f"no row from {query!r}")
    return row[0]


def postgres_bin_dir(primary_dsn: str) -> Path:
    """The server binaries matching the primary's major version (Debian keeps several)."""
    with psycopg.connect(primary_dsn, autocommit=True) as connection:
        major = int(_scalar(connection, "SHOW server_version_num")) // 10000
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/{major}/bin")) or [
        str(Path(found).parent) for found in [shutil.which("pg_ctl")] if found
    ]
    if not candidates:
        raise RuntimeError(f"no PostgreSQL {major} server binaries (pg_ctl) found")
    return Path(candidates[0])


def run_checked(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")


def as_postgres_user(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root, a developer usually not.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class Replica:
    data_dir: Path
    port: int
    bin_dir: Path
    log_path: Path
    slot: str | None = None  # the primary's replication slot it streams through
    primary_dsn: str = ""

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=3"

    def is_running(self) -> bool:
        result = subprocess.run(
            as_postgres_user([str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)]),
            capture_output=True,
        )
        return result.returncode == 0

    def start(self, *, timeout: float = 120) -> None:
        # Generous: after a stop the copy replays all the WAL it had not applied before it
        # accepts connections, and a busy shared server writes tens of MB a second.
        run_checked(
            as_postgres_user(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_path),
                ]
            )
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.OperationalError):
                with psycopg.connect(self.dsn, autocommit=True) as connection:
                    if _scalar(connection, "SELECT pg_is_in_recovery()"):
                        return
            time.sleep(0.2)
        raise RuntimeError(f"replica on port {self.port} did not accept connections; see {self.log_path}")

    def stop(self, mode: str = "fast") -> None:
        if self.is_running():
            subprocess.run(
                as_postgres_user([str(self.bin_dir / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.data_dir)]),
                capture_output=True,
            )

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)
        if self.slot:
            drop_slot(self.primary_dsn, self.slot)


def drop_slot(primary_dsn: str, slot: str, *, timeout: float = 10) -> None:
    """Drop a replication slot once its replica's WAL sender has gone (a held slot keeps WAL forever)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(primary_dsn, autocommit=True) as connection:
        while True:
            row = connection.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", [slot]).fetchone()
            if row is None:
                return
            if not row[0] or time.monotonic() > deadline:
                with contextlib.suppress(psycopg.Error):
                    connection.execute("SELECT pg_drop_replication_slot(%s)", [slot])
                return
            time.sleep(0.2)


def drop_slots_of_dead_runs(primary_dsn: str, prefix: str) -> None:
    """Drop the idle slots named `<prefix><pid>_...` whose process is gone: a test run killed
    before its teardown would otherwise make the primary keep its WAL forever."""
    with psycopg.connect(primary_dsn, autocommit=True) as connection:
        idle = [row[0] for row in connection.execute("SELECT slot_name FROM pg_replication_slots WHERE NOT active")]
        for slot in idle:
            owner = slot.removeprefix(prefix).split("_")[0] if slot.startswith(prefix) else ""
            if owner.isdigit() and not _process_alive(int(owner)):
                with contextlib.suppress(psycopg.Error):
                    connection.execute("SELECT pg_drop_replication_slot(%s)", [slot])


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create_replica(
    *, primary_host: str, primary_port: int, base_dir: Path, port: int, slot: str | None = None
) -> Replica:
    """Copy the primary with pg_basebackup and configure the copy as a hot standby on `port`.

    `base_dir` and its parents must be traversable by the postgres user. With `slot`, the
    copy streams through a replication slot of that name (made here, dropped by
    `Replica.remove()`), so the primary keeps every WAL segment it has not received yet:
    without one, a busy primary recycles WAL while a replica is stopped or cut off, and
    the replica can never catch up ("requested WAL segment ... has already been removed").
    """
    primary_dsn = f"host={primary_host} port={primary_port} user=postgres dbname=postgres"
    bin_dir = postgres_bin_dir(primary_dsn)
    base_dir.mkdir(parents=True, exist_ok=True)
    data_dir = base_dir / "data"
    socket_dir = base_dir / "socket"
    socket_dir.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(base_dir, "postgres")
        shutil.chown(socket_dir, "postgres")
    if slot:
        # Made, holding WAL from now, before the copy starts. Left to pg_basebackup's
        # --create-slot, a checkpoint of another run's copy in between took the new slot
        # for obsolete and invalidated it (PostgreSQL 15, with max_slot_wal_keep_size -1).
        with psycopg.connect(primary_dsn, autocommit=True) as primary:
            primary.execute("SELECT pg_create_physical_replication_slot(%s, true)", [slot])
    try:
        run_checked(
            as_postgres_user(
                [
                    str(bin_dir / "pg_basebackup"),
                    "-h",
                    primary_host,
                    "-p",
                    str(primary_port),
                    "-U",
                    "postgres",
                    "-D",
                    str(data_dir),
                    "--write-recovery-conf",
                    "--wal-method=stream",
                    "--checkpoint=fast",
                    *([f"--slot={slot}"] if slot else []),
                ]
            )
        )
    except RuntimeError:
        if slot:
            drop_slot(primary_dsn, slot)
        raise
    # Debian keeps the primary's configuration outside its data directory, so the
    # copy gets a minimal one of its own.
    (data_dir / "postgresql.conf").write_text(
        f"port = {port}\n"
        "listen_addresses = '127.0.0.1'\n"
        f"unix_socket_directories = '{socket_dir}'\n"
        "hot_standby = on\n"
        "hot_standby_feedback = on\n"
        "max_connections = 100\n"
        "shared_buffers = 32MB\n"
        "fsync = off\n"  # throwaway copy: durability buys nothing here
        "ssl = off\n"
    )
    (data_dir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    (data_dir / "pg_ident.conf").write_text("")
    if os.geteuid() == 0:
        for path in (data_dir / "postgresql.conf", data_dir / "pg_hba.conf", data_dir / "pg_ident.conf"):
            shutil.chown(path, "postgres")
    log_path = base_dir / "replica.log"
    log_path.touch()
    if os.geteuid() == 0:
        shutil.chown(log_path, "postgres")
    replica = Replica(
        data_dir=data_dir, port=port, bin_dir=bin_dir, log_path=log_path, slot=slot, primary_dsn=primary_dsn
    )
    replica.start()
    return replica

"""Debian's PgBouncer on a loopback port with compose's own pgbouncer.ini (tests).

The configuration is compose/production/pgbouncer/pgbouncer.ini with the servers and pool
names of the caller (the test database and its replica) and a port of its own; pooling,
timeouts and ignored startup parameters are compose's.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from compose.local.services.postgres_replica import as_postgres_user

COMPOSE_INI = Path(__file__).resolve().parents[2] / "production" / "pgbouncer" / "pgbouncer.ini"


def config(*, port: int, pools: dict[str, tuple[str, int, str]], auth_file: Path) -> str:
    """compose's pgbouncer.ini with `pools` (name -> host, port, database) as its [databases]."""
    text = COMPOSE_INI.read_text()
    databases = "".join(
        f"{name} = host={host} port={server} dbname={db}\n" for name, (host, server, db) in pools.items()
    )
    text = re.sub(r"(?ms)^\[databases\]\n.*?(?=^\[pgbouncer\])", f"[databases]\n{databases}\n", text)
    text = re.sub(r"(?m)^listen_addr = .*$", "listen_addr = 127.0.0.1", text)
    text = re.sub(r"(?m)^listen_port = .*$", f"listen_port = {port}", text)
    return re.sub(r"(?m)^auth_file = .*$", f"auth_file = {auth_file}", text)


class PgBouncer:
    """pgbouncer as a child process (as the postgres user: it refuses to run as root)."""

    def __init__(self, directory: Path, *, port: int, pools: dict[str, tuple[str, int, str]], user: str, password: str):
        self.dir, self.port, self.pools, self.user, self.password = directory, port, pools, user, password
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 10) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise RuntimeError("pgbouncer is missing: `make test` installs Debian's pgbouncer")
        self.dir.mkdir(parents=True, exist_ok=True)
        auth_file = self.dir / "userlist.txt"
        auth_file.write_text(f'"{self.user}" "{self.password}"\n')
        ini = self.dir / "pgbouncer.ini"
        ini.write_text(config(port=self.port, pools=self.pools, auth_file=auth_file))
        if os.geteuid() == 0:
            for path in (self.dir, auth_file, ini):
                shutil.chown(path, "postgres")
        self.process = subprocess.Popen(
            as_postgres_user([binary, str(ini)]),
            stdout=(self.dir / "pgbouncer.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start: {(self.dir / 'pgbouncer.log').read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 15)  # runuser and pgbouncer
            self.process.wait(timeout=10)

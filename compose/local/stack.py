"""`make stack`: photosite's production topology on this machine, without Docker.

PostgreSQL primary and streaming replica (own data dirs and ports), Redis, SeaweedFS
as S3, two gunicorn web processes, Dramatiq workers in two pools (worker1 and worker2
take renditions, maintenance1 takes maintenance, as compose and Kubernetes run them), the
periodic-job scheduler, and nginx in front
(load balancer, API limits, a cache for media and static files), all from Debian
packages and PyPI. State, logs and pids live under var/stack/; `down` stops exactly
the processes `up` recorded.

    python compose/local/stack.py up      [--dir var/stack] [--port 8080] [--no-seed]
    python compose/local/stack.py down    [--dir var/stack]
    python compose/local/stack.py status  [--dir var/stack]
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from compose.local.services import seaweedfs  # noqa: E402
from compose.local.services.net import free_ports, wait_until_healthy  # noqa: E402
from compose.local.services.postgres_replica import as_postgres_user, create_replica, run_checked  # noqa: E402

NGINX_TEMPLATE = ROOT / "compose" / "production" / "nginx" / "nginx.conf"
BUCKET = "photosite"


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2]))
    if not found:
        raise SystemExit("PostgreSQL server binaries are missing: apt-get install postgresql")
    return Path(found[-1])


def render_nginx(*, listen: str, web: list[str], media: str, state: Path, api_rate: str = "") -> str:
    """The production nginx.conf with this machine's addresses and paths (and, for load
    tests from one address, another API rate limit)."""
    conf = NGINX_TEMPLATE.read_text()
    if api_rate:
        conf = conf.replace("zone=api:10m rate=20r/s", f"zone=api:10m rate={api_rate}")
    conf = conf.replace(
        "server web1:8000 max_fails=2 fail_timeout=5s;\n        server web2:8000 max_fails=2 fail_timeout=5s;",
        "\n        ".join(f"server {address} max_fails=2 fail_timeout=5s;" for address in web),
    )
    conf = conf.replace("server seaweedfs:8333;", f"server {media};")
    conf = conf.replace("listen 80;", f"listen {listen};")
    conf = conf.replace("/var/cache/nginx/media", str(state / "nginx" / "cache"))
    conf = conf.replace("access_log    /dev/stdout;", f"access_log    {state / 'logs' / 'nginx-access.log'};")
    conf = conf.replace("error_log     /dev/stderr warn;", f"error_log     {state / 'logs' / 'nginx-error.log'} warn;")
    prefix = [f"pid {state / 'nginx' / 'nginx.pid'};", f"error_log {state / 'logs' / 'nginx-error.log'} warn;"]
    if os.geteuid() == 0:
        prefix.insert(0, "user root;")  # the cache and temp dirs belong to whoever runs the stack
    temp = "\n    ".join(
        f"{name}_temp_path {state / 'nginx' / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", f"http {{\n    {temp}\n", 1)
    return "\n".join(prefix) + "\n" + conf


def _save(state: Path, record: dict[str, Any]) -> None:
    """Written after each step, so `down` can stop whatever a failed `up` had started."""
    (state / "stack.json").write_text(json.dumps(record, indent=2))


def _spawn(args: list[str], *, env: dict[str, str], log: Path) -> int:
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )
    return process.pid


def _wait_for_port(port: int, *, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def redis_start(state: Path, port: int) -> int:
    """Start (or restart) the stack's Redis on `port`, with its data under state/redis; returns its pid."""
    pidfile = state / "redis" / "redis.pid"
    pidfile.unlink(missing_ok=True)
    redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
    subprocess.run(
        [
            redis_server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(state / "redis"),
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(state / "logs" / "redis.log"),
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        check=True,
    )
    _wait_for_port(port)
    deadline = time.monotonic() + 10
    while not pidfile.exists() and time.monotonic() < deadline:  # written just after it listens
        time.sleep(0.1)
    return int(pidfile.read_text())


def up(state: Path, *, port: int, seed: bool, api_rate: str = "", broker_url: str = "") -> dict[str, Any]:
    """Start the stack; `broker_url` (amqp://...) replaces the Redis broker, e.g. for RabbitMQ drills."""
    if (state / "stack.json").exists():
        raise SystemExit(f"a stack is already recorded in {state}; run `make stack-down` first")
    for tool in ("nginx", "redis-server"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is missing: `make stack` installs it (apt-get install nginx-light redis-server)")
    shutil.rmtree(state, ignore_errors=True)
    for name in ("logs", "nginx/cache", "redis", "pg-primary"):
        (state / name).mkdir(parents=True, exist_ok=True)
    logs = state / "logs"
    primary_port, replica_port, redis_port, web1_port, web2_port = free_ports(5)
    record: dict[str, Any] = {"url": f"http://127.0.0.1:{port}", "logs": str(logs), "pids": {}, "ports": {}}

    # PostgreSQL primary: its own cluster, WAL for a streaming replica.
    bin_dir = postgres_bin()
    primary_dir, socket_dir = state / "pg-primary" / "data", state / "pg-primary" / "socket"
    socket_dir.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        for path in (state / "pg-primary", socket_dir):
            shutil.chown(path, "postgres")
    run_checked(
        as_postgres_user(
            [str(bin_dir / "initdb"), "-D", str(primary_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        )
    )
    # In postgresql.conf, not .auto.conf: the replica's copy keeps .auto.conf (pg_basebackup
    # adds primary_conninfo there) but gets a postgresql.conf of its own.
    with (primary_dir / "postgresql.conf").open("a") as conf:
        conf.write(
            f"port = {primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{socket_dir}'\n"
            "wal_level = replica\nmax_wal_senders = 5\nmax_connections = 100\nshared_buffers = 128MB\n"
        )
    with (primary_dir / "pg_hba.conf").open("a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")
    primary_log = logs / "postgres-primary.log"
    primary_log.touch()
    if os.geteuid() == 0:
        shutil.chown(primary_log, "postgres")
    run_checked(
        as_postgres_user([str(bin_dir / "pg_ctl"), "start", "-w", "-D", str(primary_dir), "-l", str(primary_log)])
    )
    record["postgres"] = {"bin": str(bin_dir), "primary": str(primary_dir)}
    _save(state, record)
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={primary_port} user=postgres dbname=postgres", autocommit=True) as db:
        db.execute("CREATE DATABASE photosite")
    replica = create_replica(
        primary_host="127.0.0.1", primary_port=primary_port, base_dir=state / "pg-replica", port=replica_port
    )
    record["postgres"] = {"bin": str(bin_dir), "primary": str(primary_dir), "replica": str(replica.data_dir)}
    _save(state, record)
    record["ports"].update(primary=primary_port, replica=replica_port)

    # Redis: sessions, cache, throttles and the broker.
    record["pids"]["redis"] = redis_start(state, redis_port)
    record["ports"]["redis"] = redis_port
    _save(state, record)

    # SeaweedFS as S3 (its own free ports), with the bucket.
    s3 = seaweedfs.start(state / "s3")
    seaweedfs.create_bucket(s3, BUCKET)
    record["pids"]["seaweedfs"] = s3.process.pid
    _save(state, record)
    s3_port = int(s3.endpoint_url.rsplit(":", 1)[1])

    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{primary_port}/photosite",
        "DATABASE_REPLICA_URLS": f"postgres://postgres@127.0.0.1:{replica_port}/photosite",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "BROKER_URL": broker_url or f"redis://127.0.0.1:{redis_port}/1",
        "MEDIA_CDN_URL": f"http://127.0.0.1:{port}/{BUCKET}",
        "NUM_PROXIES": "1",
        "LOG_FORMAT": "json",
        "DJANGO_SECRET_KEY": "stack-only-not-a-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        **s3.env(BUCKET),
    }
    record["env"] = {key: value for key, value in env.items() if key not in os.environ or os.environ[key] != value}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "storage_init"], cwd=ROOT, env=env, check=True, capture_output=True)

    # A pool per queue (apps/photos/tasks.py): a backlog of maintenance never delays an upload.
    workers = {
        "worker1": ["--threads", "4", "--queues", "renditions", "default"],
        "worker2": ["--threads", "4", "--queues", "renditions", "default"],
        "maintenance1": ["--threads", "2", "--queues", "maintenance"],
    }
    for name, arguments in workers.items():
        record["pids"][name] = _spawn(
            [*manage, "rundramatiq", "--processes", "1", *arguments], env=env, log=logs / f"{name}.log"
        )
        _save(state, record)
    # The periodic jobs (photosite/scheduler.py), started as compose starts them.
    record["pids"]["scheduler"] = _spawn(
        ["bash", "compose/production/django/start-scheduler"],
        env={**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"},
        log=logs / "scheduler.log",
    )
    _save(state, record)
    for index, web_port in ((1, web1_port), (2, web2_port)):
        web_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{web_port}"}
        record["pids"][f"web{index}"] = _spawn(
            [sys.executable, "-m", "gunicorn", "-c", "photosite/gunicorn.conf.py", "--workers", "2", "--threads", "4"],
            env=web_env,
            log=logs / f"web{index}.log",
        )
        record["ports"][f"web{index}"] = web_port
        _save(state, record)
    for web_port in (web1_port, web2_port):
        wait_until_healthy(f"http://127.0.0.1:{web_port}/healthz")

    nginx_conf = state / "nginx" / "nginx.conf"
    nginx_conf.write_text(
        render_nginx(
            listen=f"127.0.0.1:{port}",
            web=[f"127.0.0.1:{web1_port}", f"127.0.0.1:{web2_port}"],
            media=f"127.0.0.1:{s3_port}",
            state=state,
            api_rate=api_rate,
        )
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    subprocess.run([nginx, "-c", str(nginx_conf), "-p", str(state / "nginx")], check=True)
    wait_until_healthy(f"http://127.0.0.1:{port}/nginx-health")
    record["pids"]["nginx"] = int((state / "nginx" / "nginx.pid").read_text())
    record["ports"]["nginx"] = port
    _save(state, record)
    if seed:
        subprocess.run([*manage, "seed_demo"], cwd=ROOT, env=env, check=True)
    return record


def _alive(pid: int) -> bool:
    """Running, not merely a zombie: our children are re-parented when `up` exits, and an
    init that does not reap them leaves zombies that still answer kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def down(state: Path) -> list[str]:
    """Stop what `up` recorded, in reverse order; returns what was stopped."""
    path = state / "stack.json"
    if not path.exists():
        return []
    record = json.loads(path.read_text())
    stopped = []
    nginx_pid = record["pids"].get("nginx")
    if nginx_pid and _alive(nginx_pid):
        os.kill(nginx_pid, signal.SIGQUIT)
        stopped.append("nginx")
    for name in ("web1", "web2", "scheduler", "worker1", "worker2", "maintenance1", "seaweedfs", "redis"):
        pid = record["pids"].get(name)
        if pid and _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                if name == "redis":
                    os.kill(pid, signal.SIGTERM)
                else:
                    os.killpg(pid, signal.SIGTERM)  # the whole group: gunicorn's and dramatiq's children too
            stopped.append(name)
    deadline = time.monotonic() + 15
    pids = [pid for pid in record["pids"].values() if pid]
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    postgres = record.get("postgres")
    if postgres:
        for role in ("replica", "primary"):
            if role not in postgres:
                continue
            subprocess.run(
                as_postgres_user(
                    [str(Path(postgres["bin"]) / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", postgres[role]]
                ),
                capture_output=True,
            )
            stopped.append(f"postgres {role}")
    path.unlink()
    return stopped


def status(state: Path) -> dict[str, bool]:
    path = state / "stack.json"
    if not path.exists():
        return {}
    record = json.loads(path.read_text())
    return {name: _alive(pid) for name, pid in record["pids"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "stack")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--api-rate", default="", help="nginx's API limit per address, e.g. 10000r/s for load tests")
    args = parser.parse_args()
    state = args.dir.resolve()
    if args.command == "up":
        try:
            record = up(state, port=args.port, seed=not args.no_seed, api_rate=args.api_rate)
        except BaseException:
            print("the stack did not come up; stopping what started", file=sys.stderr)
            down(state)
            raise
        print(f"\n  photosite stack is running at {record['url']}/  (through nginx)")
        print(f"  logs: {record['logs']}/  (web, worker, maintenance, scheduler, nginx, postgres, redis)")
        print("  demo login: demo / photosite-demo;  stop it with: make stack-down\n")
    elif args.command == "down":
        stopped = down(state)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing (no stack recorded)"))
    else:
        for name, alive in status(state).items():
            print(f"  {name:10} {'up' if alive else 'DOWN'}")


if __name__ == "__main__":
    main()
